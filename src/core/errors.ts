/** SPEC section 4: the exit codes scripts and fleet tools rely on. */
export const EXIT_CODES = {
  ok: 0,
  internal: 1,
  usage: 2,
  pending: 3,
  network: 4,
  verification: 5,
  incompatible: 6,
  system: 7,
} as const;

export type ErrorCode = Exclude<keyof typeof EXIT_CODES, "ok" | "pending">;

/** An error the user can act on: a stable code, a one-line message and a hint. */
export class TshupError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  /** An artifact the server does not have (HTTP 404): the next candidate may be tried. */
  notFound = false;
  constructor(code: ErrorCode, message: string, hint = "", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TshupError";
    this.code = code;
    this.hint = hint;
  }
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function notFoundError(url: string, hint: string): TshupError {
  const err = new TshupError("network", `artifact not found: ${url} (HTTP 404)`, hint);
  err.notFound = true;
  return err;
}

export const usageError = (message: string, hint = "") => new TshupError("usage", message, hint);
export const networkError = (message: string, hint = "", cause?: unknown) =>
  new TshupError("network", message, hint, { cause });
export const verificationError = (message: string, hint = "") =>
  new TshupError("verification", message, hint);
export const incompatibleError = (message: string, hint = "") =>
  new TshupError("incompatible", message, hint);
export const systemError = (message: string, hint = "", cause?: unknown) =>
  new TshupError("system", message, hint, { cause });

/** Turns an fs error into a system error naming the path and what to do. */
export function fsError(err: unknown, action: string, path: string): TshupError {
  if (err instanceof TshupError) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? "";
  const reason = (err as Error)?.message ?? String(err);
  const hints: Record<string, string> = {
    EACCES: `check the permissions of ${path}, or choose another root with --prefix`,
    ENOSPC: "free some disk space and run tshup again",
    EROFS: "that file system is read-only; choose another root with --prefix",
    EISDIR: `a directory is where tshup expects a file: move ${path} aside and run tshup again`,
    ENOTEMPTY: `a directory is where tshup expects a file: move ${path} aside and run tshup again`,
    EEXIST: `something tshup did not expect is at ${path}: move it aside and run tshup again`,
    ENOTDIR: `a file is where tshup expects a directory on the way to ${path}: move it aside and run tshup again`,
    ELOOP: `${path} is a link tshup will not follow: move it aside and run tshup again`,
    ENOENT: `${path} vanished while tshup worked (another program removed it?): run tshup again`,
  };
  hints.EPERM = hints.EACCES!;
  const hint = hints[code] ?? `check ${path}, then run tshup again`;
  return systemError(`could not ${action} ${path}: ${reason}`, hint, err);
}
