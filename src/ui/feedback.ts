import type { Host } from "../host.js";
import { envGet } from "../host.js";
import { printable, progressLine } from "../core/format.js";
import { onAbort } from "../io/abort.js";
import type { RetryNotice } from "../core/retry.js";

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
  /** One line per retry: without it a person at a stalled run cannot tell waiting from hanging. */
  retry(notice: RetryNotice): void;
}

export interface FeedbackOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Every warning, printed or not (--quiet), for the report. */
  onWarn?: (line: string) => void;
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
  // What is drawn in place just now, the spinner or the bar: a line said meanwhile (a retry, a
  // warning) makes it step aside, and it is drawn again below the line.
  let drawn: { clear(): void; redraw(): void } | null = null;
  const say = (line: string) => {
    drawn?.clear();
    err.write(`${line}\n`);
    drawn?.redraw();
  };

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
      const spinner = { clear: () => s.clear(), redraw: () => s.render() };
      drawn = spinner;
      const stop = (symbol: string, t: string) => {
        if (drawn === spinner) drawn = null;
        s.stopAndPersist({ symbol, text: t });
      };
      return {
        succeed: (t) => stop(paint("32", "✔"), t),
        fail: (t) => stop(paint("31", "✖"), t),
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
      let received = 0;
      let total: number | null = null;
      // The width is read at every redraw: a resized terminal gets a line that fits it.
      const draw = (force: boolean) => {
        const now = host.now();
        if (!force && now - last < 100) return;
        last = now;
        const rate = received / Math.max((now - started) / 1000, 0.001);
        const { text, filled } = progressLine(label, received, total, rate, err.columns ?? 80);
        if (text === lastLine && !force) return;
        lastLine = text;
        const shown = filled ? `${text.slice(0, filled[0])}${paint("36", text.slice(...filled))}${text.slice(filled[1])}` : text;
        // The cursor waits at the start of the line: when a narrower terminal rewraps the old line,
        // the cursor stays at its start, so erasing to the end of the screen takes all of it.
        err.write(`\x1b[J${shown}\r`);
      };
      const onResize = () => draw(true);
      const showCursor = () => err.write("\x1b[?25h");
      err.write("\x1b[?25l");
      const forget = onAbort(showCursor);
      err.on("resize", onResize);
      const bar = {
        clear: () => err.write("\x1b[J"),
        redraw: () => draw(true),
      };
      drawn = bar;
      return {
        update(r, t) {
          received = r;
          total = t;
          draw(false);
        },
        done() {
          if (drawn !== bar) return;
          drawn = null;
          err.off("resize", onResize);
          draw(true);
          err.write("\n");
          showCursor();
          forget();
        },
      };
    },
    info: (line) => talk && !opts.json && say(line),
    // --quiet is for cron and timers, which mail whatever is printed: only errors speak there.
    warn: (line) => {
      const text = printable(line, 1000);
      opts.onWarn?.(text);
      if (talk) say(`${paint("33", "warning:")} ${text}`);
    },
    verbose: (line) => opts.verbose && say(line),
    retry(n) {
      if (!talk) return;
      const s = n.delayMs / 1000;
      const delay = `${s >= 10 ? Math.round(s) : Number(s.toFixed(1))} s`;
      say(opts.verbose ? `retrying ${n.url} in ${delay} (${n.reason}; attempt ${n.attempt} of ${n.attempts}): ${printable(n.detail)}` : `retrying in ${delay} (${n.reason})`);
    },
  };
}
