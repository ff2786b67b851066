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

// Windows compares file names by upper-casing each UTF-16 unit on its own; String#toUpperCase
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

/**
 * One value from `reg query KEY [/v NAME]` output (`    NAME    REG_TYPE    DATA` lines), or null
 * when it is not there. Beware: reg.exe prints through the console code page, so characters
 * outside it arrive changed (ü as 0x81, ł as "l"). Exact for ASCII only; tshup reads the Path
 * through `reg export` (parseRegExport) instead.
 */
export function parseRegQuery(stdout: string, name: string): RegValue | null {
  const want = foldCase(name);
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.replace(/\r$/, "");
    const m = /^ {4}(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (!m || foldCase(m[1]!) !== want) continue;
    return { type: m[2]!, value: m[3] ?? "" };
  }
  return null;
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
  return s.replace(/\\([\\"nr0])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c === "0" ? "\0" : c));
}

/** Reads a quoted, backslash-escaped token starting at s[0] === '"'; returns it and the rest. */
function readQuoted(s: string): { text: string; rest: string } | null {
  let i = 1;
  while (i < s.length) {
    if (s[i] === "\\") i += 2;
    else if (s[i] === '"') return { text: unescapeRegString(s.slice(1, i)), rest: s.slice(i + 1) };
    else i++;
  }
  return null;
}

function utf16FromHex(hex: string): string {
  const bytes = hex
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "")
    .map((b) => parseInt(b, 16));
  const buf = new Uint8Array(bytes.length - (bytes.length % 2));
  for (let i = 0; i < buf.length; i++) buf[i] = bytes[i]!;
  const text = new TextDecoder("utf-16le").decode(buf);
  const nul = text.indexOf("\0");
  return nul === -1 ? text : text.slice(0, nul);
}

/**
 * One value of the first key in a `reg export` file, exactly as stored (the file is UTF-16, so
 * nothing is lost), or null when the key has no such value. REG_SZ comes as `"name"="data"`,
 * REG_EXPAND_SZ as `"name"=hex(2):` UTF-16LE bytes over `\`-continued lines. Other types are
 * reported with an empty value.
 */
export function parseRegExport(text: string, name: string): RegValue | null {
  const want = foldCase(name);
  // Join hex continuation lines ("...,\" then "  00,...") into one logical line.
  const lines = text.replace(/\r\n?/g, "\n").replace(/\\\n[ \t]*/g, "").split("\n");
  let section = 0;
  for (const line of lines) {
    if (line.startsWith("[")) {
      section++;
      if (section > 1) break;
      continue;
    }
    if (section !== 1) continue;
    let valueName: string;
    let rest: string;
    if (line.startsWith("@=")) {
      valueName = "";
      rest = line.slice(2);
    } else if (line.startsWith('"')) {
      const q = readQuoted(line);
      if (!q || !q.rest.startsWith("=")) continue;
      valueName = q.text;
      rest = q.rest.slice(1);
    } else continue;
    if (foldCase(valueName) !== want) continue;
    if (rest.startsWith('"')) {
      const q = readQuoted(rest);
      return { type: "REG_SZ", value: q ? q.text : "" };
    }
    const hex = /^hex(?:\(([0-9a-fA-F]+)\))?:(.*)$/.exec(rest);
    if (hex) {
      const code = (hex[1] ?? "3").toLowerCase();
      const type = HEX_TYPES[code] ?? `REG_TYPE_${code}`;
      return { type, value: type === "REG_SZ" || type === "REG_EXPAND_SZ" ? utf16FromHex(hex[2]!) : "" };
    }
    if (rest.startsWith("dword:")) return { type: "REG_DWORD", value: "" };
    return { type: "REG_NONE", value: "" };
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
