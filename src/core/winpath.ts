// The Windows user Path (HKCU\Environment\Path) as a string: finding, adding and removing one
// directory while every other byte of the value stays as it was. Also the parsers for what reg.exe
// prints or exports. Pure: no registry access here (src/platform/win32-registry.ts does that).

/** The registry value tshup edits, as it names it in messages, steps and state. */
export const USER_PATH_KEY = "HKCU\\Environment\\Path";

export type RegType = "REG_SZ" | "REG_EXPAND_SZ" | "REG_MULTI_SZ" | "REG_BINARY" | "REG_DWORD" | "REG_QWORD" | "REG_NONE" | string;

/** A registry value as read: its type and its data, unexpanded. */
export interface RegValue {
  type: RegType;
  value: string;
}

/** Looks up an environment variable (case-insensitively, as Windows does) for `%VAR%` expansion. */
export type EnvLookup = (name: string) => string | undefined;

/**
 * Splits a Path value at its `;` separators, except inside double quotes (cmd accepts
 * `"C:\a;b"` as one entry). `splitPath(v).join(";") === v` for every string, so editing the list
 * and joining it again changes nothing but the edited entries. Empty entries are kept.
 */
export function splitPath(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') quoted = !quoted;
    else if (c === ";" && !quoted) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

/** `%NAME%` replaced by its value where the variable is set; unknown ones stay as written. */
export function expandVars(s: string, lookup: EnvLookup): string {
  return s.replace(/%([^%;]+)%/g, (whole, name: string) => lookup(name) ?? whole);
}

// Windows compares file names by upper-casing each character on its own; String#toUpperCase
// would turn "ß" into "SS" and so call two different names the same.
function foldCase(s: string): string {
  let out = "";
  for (const c of s) {
    const u = c.toUpperCase();
    out += u.length === c.length ? u : c;
  }
  return out;
}

/**
 * The form two Path entries are compared in: variables expanded (when a lookup is given), one
 * pair of surrounding quotes dropped, `/` read as `\`, repeated and trailing backslashes dropped,
 * case folded. Spaces are significant, as they are to Windows.
 */
export function canonicalEntry(entry: string, expand?: EnvLookup): string {
  let s = expand ? expandVars(entry, expand) : entry;
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1);
  s = s.replace(/\//g, "\\");
  const unc = s.startsWith("\\\\");
  s = s.replace(/\\{2,}/g, "\\");
  if (unc) s = `\\${s}`;
  s = s.replace(/\\+$/, "");
  return foldCase(s);
}

export function sameEntry(a: string, b: string, expand?: EnvLookup): boolean {
  const ca = canonicalEntry(a, expand);
  return ca !== "" && ca === canonicalEntry(b, expand);
}

/** Whether `dir` is one of the entries of `value` (in any spelling Windows reads the same). */
export function pathContains(value: string | null, dir: string, expand?: EnvLookup): boolean {
  if (value === null || value === "") return false;
  return splitPath(value).some((e) => sameEntry(e, dir, expand));
}

/** The entry to write for `dir`: quoted only when it holds a `;`, which would split it otherwise. */
export function pathEntryFor(dir: string): string {
  return dir.includes(";") ? `"${dir}"` : dir;
}

/**
 * `value` with `dir` put first, or `value` unchanged when `dir` is on it already (wherever it is:
 * a user who moved it keeps the order chosen). First, because Windows searches the machine Path
 * and then the user Path in order: within the user Path this makes tshup's tsh win over an older
 * one some other tool put there. A machine-wide tsh still comes first; `tshup doctor` reports that.
 * A missing or empty value becomes just `dir` (no trailing `;`).
 */
export function addToPath(value: string | null, dir: string, expand?: EnvLookup): string {
  if (pathContains(value, dir, expand)) return value!;
  const entry = pathEntryFor(dir);
  return value === null || value === "" ? entry : `${entry};${value}`;
}

/**
 * `value` without the entries naming `dir`; every other entry, separator and byte stays. After
 * `addToPath`, this gives back exactly the value before (a missing value comes back as "").
 */
export function removeFromPath(value: string, dir: string, expand?: EnvLookup): string {
  const parts = splitPath(value);
  const kept = parts.filter((e) => !sameEntry(e, dir, expand));
  return kept.length === parts.length ? value : kept.join(";");
}

/**
 * The type to write the new value with: REG_SZ stays REG_SZ while nothing in it needs expanding
 * (as Windows' own environment-variable editor does), everything else is REG_EXPAND_SZ so that
 * `%VAR%` entries keep working.
 */
export function typeToWrite(previous: RegType | null, newValue: string): "REG_SZ" | "REG_EXPAND_SZ" {
  return previous === "REG_SZ" && !newValue.includes("%") ? "REG_SZ" : "REG_EXPAND_SZ";
}

/** Types Windows reads as a Path; any other type is left alone. */
export function isStringType(type: RegType): type is "REG_SZ" | "REG_EXPAND_SZ" {
  return type === "REG_SZ" || type === "REG_EXPAND_SZ";
}


/** Decodes a .reg file as `reg export` writes it: UTF-16LE with a BOM (or UTF-8 / "REGEDIT4"). */
export function decodeRegFile(data: Uint8Array): string {
  if (data.length >= 2 && data[0] === 0xff && data[1] === 0xfe) return new TextDecoder("utf-16le").decode(data.subarray(2));
  const text = new TextDecoder("utf-8").decode(data);
  return text.startsWith("\ufeff") ? text.slice(1) : text;
}

const HEX_TYPES: Record<string, RegType> = {
  "0": "REG_NONE",
  "1": "REG_SZ",
  "2": "REG_EXPAND_SZ",
  "3": "REG_BINARY",
  "4": "REG_DWORD",
  "7": "REG_MULTI_SZ",
  b: "REG_QWORD",
};

function unescapeRegString(s: string): string {
  // reg export escapes backslash and quote; Wine's also writes a newline as \n.
  return s.replace(/\\([\\"n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function utf16FromHex(hex: string): string {
  const bytes = hex
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  if (bytes.some((b) => !/^[0-9a-fA-F]{1,2}$/.test(b))) throw new Error("malformed hex data");
  const buf = new Uint8Array(bytes.length - (bytes.length % 2));
  for (let i = 0; i < buf.length; i++) buf[i] = parseInt(bytes[i]!, 16);
  const text = new TextDecoder("utf-16le").decode(buf);
  const nul = text.indexOf("\0");
  return nul === -1 ? text : text.slice(0, nul);
}

/**
 * One value of the first key in a `reg export` file, exactly as stored (the file is UTF-16, so
 * nothing is lost), or null when the key has no such value. REG_SZ comes as `"name"="data"`
 * (backslash-escaped, possibly over several lines), REG_EXPAND_SZ as `"name"=hex(2):` UTF-16LE
 * bytes over `\`-continued lines. Other types come back with an empty value. Throws when the
 * wanted value is malformed: a Path read wrong must never be written back.
 */
export function parseRegExport(text: string, name: string): RegValue | null {
  const want = foldCase(name);
  const n = text.length;
  let i = 0;
  let section = 0;
  const eol = (from: number) => {
    const j = text.indexOf("\n", from);
    return j === -1 ? n : j;
  };
  // Reads a quoted token at text[at] === '"', across line ends; returns its text and the end.
  const quoted = (at: number): { text: string; end: number } | null => {
    for (let j = at + 1; j < n; j++) {
      if (text[j] === "\\") j++;
      else if (text[j] === '"') return { text: unescapeRegString(text.slice(at + 1, j).replace(/\r\n/g, "\n")), end: j + 1 };
    }
    return null;
  };
  while (i < n) {
    while (i < n && /[ \t\r\n]/.test(text[i]!)) i++;
    if (i >= n) break;
    if (text[i] === "[") {
      section++;
      if (section > 1) break;
      i = eol(i) + 1;
      continue;
    }
    if (section !== 1 || (text[i] !== '"' && text[i] !== "@")) {
      i = eol(i) + 1;
      continue;
    }
    let valueName = "";
    if (text[i] === "@") i++;
    else {
      const q = quoted(i);
      if (!q) break;
      valueName = q.text;
      i = q.end;
    }
    if (text[i] !== "=") {
      i = eol(i) + 1;
      continue;
    }
    i++;
    const wanted = foldCase(valueName) === want;
    if (text[i] === '"') {
      const q = quoted(i);
      if (!q) {
        if (wanted) throw new Error(`the data of "${name}" has no closing quote`);
        break;
      }
      if (wanted) return { type: "REG_SZ", value: q.text };
      i = eol(q.end) + 1;
      continue;
    }
    // Data up to the end of the line, continued while a line ends with a backslash.
    let data = "";
    for (;;) {
      const end = eol(i);
      const line = text.slice(i, end).replace(/\r$/, "");
      i = end + 1;
      if (line.endsWith("\\")) data += line.slice(0, -1);
      else {
        data += line;
        break;
      }
      if (i >= n) break;
    }
    if (!wanted) continue;
    const hex = /^hex(?:\(([0-9a-fA-F]+)\))?:([\s\S]*)$/.exec(data.trim());
    if (hex) {
      const code = (hex[1] ?? "3").toLowerCase();
      const type = HEX_TYPES[code] ?? `REG_TYPE_${code}`;
      return { type, value: isStringType(type) ? utf16FromHex(hex[2]!) : "" };
    }
    if (data.startsWith("dword:")) return { type: "REG_DWORD", value: "" };
    throw new Error(`the data of "${name}" is not in a form tshup reads: ${data.slice(0, 40)}`);
  }
  return null;
}

/** The line that puts `dir` first on PATH in the current cmd window. */
export function cmdPathLine(dir: string): string {
  return `set "PATH=${dir};%PATH%"`;
}

/** The line that puts `dir` first on PATH in the current PowerShell (single quotes: no `$` expansion). */
export function powershellPathLine(dir: string): string {
  return `$env:Path = '${dir.replace(/'/g, "''")};' + $env:Path`;
}
