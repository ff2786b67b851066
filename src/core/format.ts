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
