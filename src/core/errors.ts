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
  const hint =
    code === "EACCES" || code === "EPERM"
      ? `check the permissions of ${path}, or choose another root with --prefix`
      : code === "ENOSPC"
        ? "free some disk space and run tshup again"
        : code === "EROFS"
          ? "that file system is read-only; choose another root with --prefix"
          : "";
  return systemError(`could not ${action} ${path}: ${reason}`, hint, err);
}
