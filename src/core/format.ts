export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ["KB", "MB", "GB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`;
}

/** `~/...` for paths under the home directory, as a person reads them. */
export function tildify(p: string, home: string, sep = "/"): string {
  if (home && (p === home || p.startsWith(home + sep))) return `~${p.slice(home.length)}`;
  return p;
}

/**
 * Text from elsewhere (a server's error message, a value it sent) made safe to print on one line:
 * control characters (ESC and BEL sequences could drive the terminal), C1 controls and bidi
 * overrides are dropped, white space is folded, and it is cut at `max` characters.
 */
export function printable(text: string, max = 300): string {
  const clean = text
    .slice(0, max * 4)
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

/** A value as a message shows it: JSON, one line, at most `max` characters, never throwing. */
export function shown(value: unknown, max = 80): string {
  let s: string;
  if (typeof value === "string") s = JSON.stringify(value.slice(0, max + 1));
  else if (value === undefined) s = "nothing";
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = Array.isArray(value) ? "a list" : typeof value === "object" ? "a nested object" : String(value);
    }
  }
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

export interface ProgressLine {
  text: string;
  /** Where the bar's filled part lies in `text` (for colour), or null when the bar was left out. */
  filled: [number, number] | null;
}

const BAR_MIN = 10;
const BAR_MAX = 30;

/**
 * One progress line that fits in `columns - 1` characters, so the terminal never wraps it (a
 * wrapped line cannot be redrawn in place, and each redraw would scroll). As the width shrinks the
 * figures of least use go first (rate, byte counts, ETA, then the bar), and the label is cut with
 * an ellipsis rather than any of them while it keeps its first 30 characters.
 */
export function progressLine(label: string, received: number, total: number | null, rate: number, columns: number): ProgressLine {
  const room = Math.max(1, columns - 1);
  const speed = `${formatBytes(rate)}/s`.padStart(10);
  // Widths stay the same from one redraw to the next, so the label does not flicker by a character.
  let figures: string[][];
  let frac = 0;
  if (total) {
    frac = Math.min(received / total, 1);
    const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
    const eta = `ETA ${formatDuration(rate > 0 ? (total - received) / rate : Number.NaN).padStart(3)}`;
    const bytes = bytesOf(received, total);
    figures = [[pct, bytes, speed, eta], [pct, bytes, eta], [pct, eta], [pct]];
  } else {
    figures = [[formatBytes(received), speed], [formatBytes(received)]];
  }
  const layouts = [
    ...figures.map((f) => ({ f, bar: Boolean(total), labelMin: 30 })),
    ...(total ? [{ f: figures[figures.length - 1]!, bar: true, labelMin: 16 }] : []),
    { f: figures[figures.length - 1]!, bar: false, labelMin: 1 },
  ];
  for (const [i, l] of layouts.entries()) {
    const tail = ` ${l.f.join(" ")}`;
    const barRoom = l.bar ? BAR_MIN + 3 : 0;
    const labelMin = Math.min(label.length, l.labelMin);
    if (labelMin + barRoom + tail.length > room && i < layouts.length - 1) continue;
    const shown = cut(label, Math.max(1, room - barRoom - tail.length));
    if (!l.bar) return { text: `${shown}${tail}`.slice(0, room), filled: null };
    const width = Math.min(BAR_MAX, room - shown.length - tail.length - 3);
    const n = Math.round(frac * width);
    const start = shown.length + 2;
    return { text: `${shown} [${"#".repeat(n)}${"-".repeat(width - n)}]${tail}`, filled: [start, start + n] };
  }
  throw new Error("unreachable: the last layout always fits");
}

/** `3.4/8.0 MB`: both in the unit of the total, the received part padded to its width. */
function bytesOf(received: number, total: number): string {
  const whole = formatBytes(total);
  const unit = whole.slice(whole.indexOf(" ") + 1);
  const scale = 1024 ** ["B", "KB", "MB", "GB"].indexOf(unit);
  const num = (n: number) => (unit === "B" ? String(Math.round(n)) : (n / scale).toFixed(1));
  return `${num(Math.min(received, total)).padStart(num(total).length)}/${whole}`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}
