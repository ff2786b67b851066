import type { Host } from "../host.js";
import { envGet } from "../host.js";
import { formatBytes, formatDuration, printable } from "../core/format.js";

export interface Spinner {
  succeed(text: string): void;
  fail(text: string): void;
}

export interface ProgressBar {
  update(received: number, total: number | null): void;
  done(): void;
}

/** Everything tshup says while it works; all of it goes to stderr so stdout stays for results. */
export interface Feedback {
  readonly animated: boolean;
  readonly color: boolean;
  spin(text: string): Promise<Spinner>;
  progress(label: string): ProgressBar;
  info(line: string): void;
  warn(line: string): void;
  verbose(line: string): void;
}

export interface FeedbackOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** Animation only for a person at a terminal: never into pipes, logs, --json or --quiet runs. */
export function createFeedback(host: Host, opts: FeedbackOptions): Feedback {
  const err = host.stderr;
  // A pty without a size (columns 0) cannot be redrawn in place.
  const tty = Boolean(err.isTTY) && (err.columns ?? 0) > 0 && envGet(host, "TERM") !== "dumb" && !envGet(host, "CI");
  const animated = tty && !opts.json && !opts.quiet;
  const color = tty && envGet(host, "NO_COLOR") === undefined;
  const talk = !opts.quiet;
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

  return {
    animated,
    color,
    async spin(text) {
      if (!animated) {
        if (talk && !opts.json) err.write(`${text}\n`);
        return { succeed: (t) => opts.verbose && err.write(`${t}\n`), fail: () => {} };
      }
      const { default: ora } = await import("ora");
      const s = ora({ text, stream: err as NodeJS.WritableStream, color: color ? "cyan" : false, isEnabled: true, discardStdin: false });
      s.start();
      return {
        succeed: (t) => s.stopAndPersist({ symbol: paint("32", "✔"), text: t }),
        fail: (t) => s.stopAndPersist({ symbol: paint("31", "✖"), text: t }),
      };
    },
    progress(label) {
      if (!animated) {
        if (talk && !opts.json) err.write(`${label}\n`);
        return { update: () => {}, done: () => {} };
      }
      const started = host.now();
      let last = 0;
      let lastLine = "";
      const draw = (received: number, total: number | null, final: boolean) => {
        const now = host.now();
        if (!final && now - last < 100) return;
        last = now;
        const elapsed = Math.max((now - started) / 1000, 0.001);
        const rate = received / elapsed;
        const width = Math.max(10, Math.min(30, (err.columns ?? 80) - 60));
        let line: string;
        if (total) {
          const frac = Math.min(received / total, 1);
          const filled = Math.round(frac * width);
          const eta = rate > 0 ? (total - received) / rate : 0;
          line = `${label} [${paint("36", "#".repeat(filled))}${"-".repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${formatBytes(received)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${formatDuration(eta)}`;
        } else {
          line = `${label} ${formatBytes(received)} ${formatBytes(rate)}/s`;
        }
        if (line !== lastLine) err.write(`\r\x1b[2K${line}`);
        lastLine = line;
      };
      let lastReceived = 0;
      let lastTotal: number | null = null;
      return {
        update(received, total) {
          lastReceived = received;
          lastTotal = total;
          draw(received, total, false);
        },
        done() {
          draw(lastReceived, lastTotal, true);
          err.write("\n");
        },
      };
    },
    info: (line) => talk && !opts.json && err.write(`${line}\n`),
    warn: (line) => err.write(`${paint("33", "warning:")} ${printable(line, 1000)}\n`),
    verbose: (line) => opts.verbose && err.write(`${line}\n`),
  };
}
