// The Windows user Path as data: the pure edits of src/core/winpath.ts, the parsers of reg.exe's
// output, and the Windows strategy's Path handling against an in-memory registry. Runs anywhere;
// test/windows.test.ts proves the same against the real reg.exe under wine.
import { test, describe } from "node:test";
import { parseRegQuery } from "./support/blocks.js";
import assert from "node:assert/strict";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  USER_PATH_KEY,
  addToPath,
  canonicalEntry,
  cmdPathLine,
  decodeRegFile,
  expandVars,
  parseRegExport,
  pathContains,
  powershellPathLine,
  removeFromPath,
  splitPath,
  typeToWrite,
  type RegValue,
} from "../src/core/winpath.js";
import { encodePowershell, regExeUserEnvironment, type RunResult, type Runner, type UserEnvironment } from "../src/platform/win32-registry.js";
import { win32Strategy } from "../src/platform/win32.js";
import { layoutFor } from "../src/core/layout.js";
import { TshupError } from "../src/core/errors.js";
import { testHost } from "./support/host.js";
import type { Host } from "../src/host.js";

const BIN = "C:\\Users\\ana\\AppData\\Local\\tshup\\bin";
const ENV: Record<string, string> = {
  LOCALAPPDATA: "C:\\Users\\ana\\AppData\\Local",
  USERPROFILE: "C:\\Users\\ana",
  SystemRoot: "C:\\WINDOWS",
};
const lookup = (name: string) => {
  const key = Object.keys(ENV).find((k) => k.toUpperCase() === name.toUpperCase());
  return key === undefined ? undefined : ENV[key];
};

/** A user Path of at least `min` characters made of realistic entries, variables included. */
function longPath(min: number): string {
  const entries: string[] = [];
  for (let i = 0; entries.join(";").length < min; i++) {
    entries.push(
      i % 3 === 0
        ? `%USERPROFILE%\\AppData\\Local\\Programs\\Tool ${i}\\bin`
        : i % 3 === 1
          ? `C:\\Program Files\\Vendor ${i}\\Some Longer Product Name\\bin\\`
          : `%SystemRoot%\\System32\\Extra${i}`,
    );
  }
  return entries.join(";");
}

const LONG = longPath(2500);

// Values that do not contain BIN, each as a user might have it.
const ORIGINALS: [string, string][] = [
  ["2,500 characters", LONG],
  ["%SystemRoot% and %USERPROFILE% entries", "%SystemRoot%\\system32;%USERPROFILE%\\AppData\\Local\\Microsoft\\WindowsApps;%USERPROFILE%\\.dotnet\\tools"],
  ["empty entries in the middle and at both ends", ";C:\\a;;C:\\b;"],
  ["one entry", "C:\\Tools"],
  ["one entry with a trailing semicolon", "C:\\Tools;"],
  ["just a semicolon", ";"],
  ["spaces, a quoted entry with a semicolon, non-ASCII", 'C:\\Program Files\\x y\\;"C:\\semi;colon";C:\\Users\\Jürgen ł\\bin'],
  ["a similar but different directory", "C:\\Users\\ana\\AppData\\Local\\tshup\\bin2;C:\\Users\\ana\\AppData\\Local\\tshup"],
  ["an unknown variable", "%NOT_SET_ANYWHERE%\\tshup\\bin"],
];

describe("pure Path edits", () => {
  test("splitting and joining again gives back every value exactly", () => {
    for (const [, v] of [...ORIGINALS, ["empty", ""], ["odd quotes", 'C:\\"a;b']]) assert.equal(splitPath(v).join(";"), v);
    assert.deepEqual(splitPath(";C:\\a;;C:\\b;"), ["", "C:\\a", "", "C:\\b", ""]);
    assert.deepEqual(splitPath('"C:\\semi;colon";C:\\x'), ['"C:\\semi;colon"', "C:\\x"]);
  });

  test("adds the bin dir once, at the front, keeping every other byte", () => {
    for (const [name, v] of ORIGINALS) {
      const added = addToPath(v, BIN, lookup);
      assert.equal(added, `${BIN};${v}`, name);
      assert.ok(added.endsWith(v), name);
      assert.equal(addToPath(added, BIN, lookup), added, `${name}: a second add changes nothing`);
    }
    assert.equal(addToPath(LONG, BIN).length, LONG.length + BIN.length + 1, "no length limit of tshup's own");
  });

  test("no value or an empty value becomes just the bin dir", () => {
    assert.equal(addToPath(null, BIN), BIN);
    assert.equal(addToPath("", BIN), BIN);
  });

  test("finds the bin dir in any spelling Windows reads the same", () => {
    const spellings = [
      BIN,
      BIN.toUpperCase(),
      BIN.toLowerCase(),
      `${BIN}\\`,
      `${BIN}\\\\`,
      `"${BIN}"`,
      BIN.replace(/\\/g, "/"),
      "C:\\Users\\ana\\AppData\\Local\\\\tshup\\bin",
      "%LOCALAPPDATA%\\tshup\\bin",
      "%localappdata%\\TSHUP\\bin\\",
      "%USERPROFILE%\\AppData\\Local\\tshup\\bin",
    ];
    for (const s of spellings) {
      for (const v of [s, `C:\\a;${s}`, `${s};C:\\a`, `;;${s};;`]) {
        assert.ok(pathContains(v, BIN, lookup), `${v} contains the bin dir`);
        assert.equal(addToPath(v, BIN, lookup), v, `${v} is left as it is`);
      }
    }
    assert.ok(!pathContains("%LOCALAPPDATA%\\tshup\\bin", BIN), "without a lookup variables are not expanded");
    assert.ok(!pathContains(` ${BIN}`, BIN, lookup), "a leading space makes another entry, as for Windows");
    assert.ok(!pathContains(`${BIN}x`, BIN, lookup));
    assert.ok(!pathContains("", BIN, lookup));
    assert.ok(!pathContains(null, BIN, lookup));
    assert.ok(!pathContains(";;", "", lookup), "an empty entry never matches");
    assert.equal(canonicalEntry("\\\\server\\share\\\\bin\\"), "\\\\SERVER\\SHARE\\BIN", "UNC paths keep their leading pair");
    assert.ok(!pathContains("C:\\STRASSE", "C:\\straße"), "ß is not SS");
  });

  test("duplicates differing by case or trailing backslash: still one, nothing added", () => {
    const v = `C:\\x;${BIN.toUpperCase()};${BIN}\\;C:\\y`;
    assert.equal(addToPath(v, BIN, lookup), v);
  });

  test("remove after add gives back the original exactly", () => {
    for (const [name, v] of ORIGINALS) assert.equal(removeFromPath(addToPath(v, BIN, lookup), BIN, lookup), v, name);
    assert.equal(removeFromPath(addToPath(null, BIN), BIN), "");
    assert.equal(removeFromPath(addToPath("", BIN), BIN), "");
  });

  test("remove takes out exactly the bin dir's entries, in every spelling, and nothing else", () => {
    const v = `%SystemRoot%\\x;${BIN.toUpperCase()}\\;C:\\a;;%LOCALAPPDATA%\\tshup\\bin;C:\\b\\`;
    assert.equal(removeFromPath(v, BIN, lookup), "%SystemRoot%\\x;C:\\a;;C:\\b\\");
    assert.equal(removeFromPath(BIN, BIN), "");
    for (const [name, orig] of ORIGINALS) assert.equal(removeFromPath(orig, BIN, lookup), orig, `${name}: nothing to remove`);
  });

  test("a bin dir with a semicolon is written quoted and found again", () => {
    const odd = "C:\\Users\\a;b\\tshup\\bin";
    const v = addToPath("C:\\x", odd);
    assert.equal(v, `"${odd}";C:\\x`);
    assert.ok(pathContains(v, odd));
    assert.equal(removeFromPath(v, odd), "C:\\x");
  });

  test("variables: known ones expand for comparison only, unknown ones stay", () => {
    assert.equal(expandVars("%USERPROFILE%\\a;%NOPE%\\b;100%", lookup), "C:\\Users\\ana\\a;%NOPE%\\b;100%");
  });

  test("the type to write: REG_SZ stays while nothing needs expanding", () => {
    assert.equal(typeToWrite(null, BIN), "REG_EXPAND_SZ");
    assert.equal(typeToWrite("REG_EXPAND_SZ", BIN), "REG_EXPAND_SZ");
    assert.equal(typeToWrite("REG_SZ", `${BIN};C:\\a`), "REG_SZ");
    assert.equal(typeToWrite("REG_SZ", `${BIN};%USERPROFILE%\\a`), "REG_EXPAND_SZ");
  });

  test("the lines for the current terminal", () => {
    assert.equal(cmdPathLine(BIN), `set "PATH=${BIN};%PATH%"`);
    assert.equal(powershellPathLine(BIN), `$env:Path = '${BIN};' + $env:Path`);
    assert.equal(powershellPathLine("C:\\O'Brien\\bin"), "$env:Path = 'C:\\O''Brien\\bin;' + $env:Path");
  });
});

// ---------------------------------------------------------------------------------------------
// reg.exe output

/** `reg query` output as Windows prints it: CRLF, four-space columns, a blank line around. */
function regQueryOutput(values: [string, string, string][]): string {
  return ["", "HKEY_CURRENT_USER\\Environment", ...values.map(([n, t, v]) => `    ${n}    ${t}    ${v}`), "", ""].join("\r\n");
}

/** `reg export` file text as Windows writes it: REG_SZ quoted and escaped, the rest hex over 80-column lines. */
function regExportText(values: [string, RegValue][], subkey?: [string, RegValue][]): string {
  const lines = ["Windows Registry Editor Version 5.00", "", "[HKEY_CURRENT_USER\\Environment]"];
  const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  const emit = (name: string, v: RegValue) => {
    if (v.type === "REG_SZ") {
      lines.push(`"${esc(name)}"="${esc(v.value)}"`);
      return;
    }
    const code = v.type === "REG_EXPAND_SZ" ? "2" : "7";
    const bytes = [...Buffer.from(`${v.value}\0`, "utf16le")].map((b) => b.toString(16).padStart(2, "0"));
    let line = `"${esc(name)}"=hex(${code}):`;
    const out: string[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const piece = bytes[i] + (i < bytes.length - 1 ? "," : "");
      if (line.length + piece.length > 77 && i < bytes.length) {
        out.push(`${line}\\`);
        line = "  ";
      }
      line += piece;
    }
    out.push(line);
    lines.push(...out);
  };
  for (const [n, v] of values) emit(n, v);
  if (subkey) {
    lines.push("", "[HKEY_CURRENT_USER\\Environment\\Sub]");
    for (const [n, v] of subkey) emit(n, v);
  }
  lines.push("", "");
  return lines.join("\r\n");
}

describe("reading reg.exe", () => {
  test("reg query: REG_SZ, REG_EXPAND_SZ, spaces and semicolons, empty data, missing value", () => {
    const out = regQueryOutput([
      ["TEMP", "REG_EXPAND_SZ", "%USERPROFILE%\\AppData\\Local\\Temp"],
      ["Path", "REG_EXPAND_SZ", "%USERPROFILE%\\a b;C:\\Program Files\\x;;C:\\y\\"],
      ["OneDrive", "REG_SZ", "C:\\Users\\ana\\OneDrive - Example Corp"],
    ]);
    assert.deepEqual(parseRegQuery(out, "Path"), { type: "REG_EXPAND_SZ", value: "%USERPROFILE%\\a b;C:\\Program Files\\x;;C:\\y\\" });
    assert.deepEqual(parseRegQuery(out, "PATH"), { type: "REG_EXPAND_SZ", value: "%USERPROFILE%\\a b;C:\\Program Files\\x;;C:\\y\\" });
    assert.deepEqual(parseRegQuery(out, "OneDrive"), { type: "REG_SZ", value: "C:\\Users\\ana\\OneDrive - Example Corp" });
    assert.equal(parseRegQuery(out, "Missing"), null);
    assert.equal(parseRegQuery("", "Path"), null);
    assert.deepEqual(parseRegQuery(regQueryOutput([["Path", "REG_SZ", ""]]), "Path"), { type: "REG_SZ", value: "" });
    assert.deepEqual(parseRegQuery("\r\nHKEY_CURRENT_USER\\Environment\r\n    Path    REG_SZ\r\n", "Path"), { type: "REG_SZ", value: "" });
    assert.deepEqual(parseRegQuery(regQueryOutput([["Path", "REG_SZ", "  two leading, trailing  "]]), "Path"), { type: "REG_SZ", value: "  two leading, trailing  " });
  });

  test("reg export: the exact value over continued hex lines, escapes, non-ASCII, subkeys ignored", () => {
    const path = `${LONG};C:\\Users\\Jürgen ł\\bin;"C:\\semi;colon";;`;
    const text = regExportText(
      [
        ["TEMP", { type: "REG_SZ", value: 'C:\\Users\\ana\\Temp "quoted" \\' }],
        ["Path", { type: "REG_EXPAND_SZ", value: path }],
        ["Multi", { type: "REG_MULTI_SZ", value: "a" }],
      ],
      [["Path", { type: "REG_SZ", value: "not this one" }]],
    );
    assert.deepEqual(parseRegExport(text, "Path"), { type: "REG_EXPAND_SZ", value: path });
    assert.deepEqual(parseRegExport(text, "path"), { type: "REG_EXPAND_SZ", value: path });
    assert.deepEqual(parseRegExport(text, "TEMP"), { type: "REG_SZ", value: 'C:\\Users\\ana\\Temp "quoted" \\' });
    assert.deepEqual(parseRegExport(text, "Multi"), { type: "REG_MULTI_SZ", value: "" });
    assert.equal(parseRegExport(text, "Missing"), null);
    assert.equal(parseRegExport(regExportText([]), "Path"), null);
    const sz = regExportText([["Path", { type: "REG_SZ", value: "C:\\a b\\;%X%;;" }]]);
    assert.deepEqual(parseRegExport(sz, "Path"), { type: "REG_SZ", value: "C:\\a b\\;%X%;;" });
    assert.deepEqual(parseRegExport(regExportText([["Path", { type: "REG_EXPAND_SZ", value: "" }]]), "Path"), { type: "REG_EXPAND_SZ", value: "" });
  });

  test("reg export: the bytes Wine's reg.exe wrote for a value with ü and ł", () => {
    // Captured from `wine reg export HKCU\Environment` (wine 8.0) after
    // `reg add HKCU\Environment /v Path /t REG_EXPAND_SZ /d "%USERPROFILE%\a b;C:\x\;Jürgen ł;;"`.
    const text = [
      "Windows Registry Editor Version 5.00",
      "",
      "[HKEY_CURRENT_USER\\Environment]",
      '"Path"=hex(2):25,00,55,00,53,00,45,00,52,00,50,00,52,00,4f,00,46,00,49,00,4c,\\',
      "  00,45,00,25,00,5c,00,61,00,20,00,62,00,3b,00,43,00,3a,00,5c,00,78,00,5c,00,\\",
      "  3b,00,4a,00,fc,00,72,00,67,00,65,00,6e,00,20,00,42,01,3b,00,3b,00,00,00",
      '"TEMP"="C:\\\\users\\\\root\\\\Temp"',
      "",
    ].join("\r\n");
    const file = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    const decoded = decodeRegFile(file);
    assert.deepEqual(parseRegExport(decoded, "Path"), { type: "REG_EXPAND_SZ", value: "%USERPROFILE%\\a b;C:\\x\\;Jürgen ł;;" });
    assert.deepEqual(parseRegExport(decoded, "TEMP"), { type: "REG_SZ", value: "C:\\users\\root\\Temp" });
    // What `reg query` printed for the same value: the console code page turned ü into 0x81 and ł into l.
    const query = Buffer.from("\r\nHKEY_CURRENT_USER\\Environment\r\n    Path    REG_EXPAND_SZ    %USERPROFILE%\\a b;C:\\x\\;J\x81rgen l;;\r\n\r\n", "latin1").toString("utf8");
    assert.notEqual(parseRegQuery(query, "Path")!.value, "%USERPROFILE%\\a b;C:\\x\\;Jürgen ł;;", "reg query is not exact outside ASCII");
  });

  test("reg export: a damaged value is an error, never a guess", () => {
    const head = 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Environment]\r\n';
    assert.throws(() => parseRegExport(`${head}"Path"="C:\\\\a;C:\\\\b\r\n`, "Path"), /no closing quote/);
    assert.throws(() => parseRegExport(`${head}"Path"=hex(2):zz,00\r\n`, "Path"), /malformed hex/);
    assert.throws(() => parseRegExport(`${head}"Path"=something\r\n`, "Path"), /not in a form/);
    assert.deepEqual(parseRegExport(`${head}"Other"=something\r\n"Path"="C:\\\\ok"\r\n`, "Path"), { type: "REG_SZ", value: "C:\\ok" });
  });
});

// ---------------------------------------------------------------------------------------------
// The strategy against an in-memory registry

class FakeRegistry implements UserEnvironment {
  values = new Map<string, RegValue>();
  writes: { name: string; v: RegValue | null }[] = [];
  broadcasts = 0;
  failWrite: string | null = null;
  failRead: string | null = null;
  /** Simulates something that changes the data on the way in (a policy agent, a bad quoting). */
  mangle: ((v: string) => string) | null = null;
  broadcastNote: string | null = "PowerShell could not tell running programs (test)";

  async read(name: string) {
    if (this.failRead) throw new Error(this.failRead);
    const key = [...this.values.keys()].find((k) => k.toUpperCase() === name.toUpperCase());
    return key === undefined ? null : { ...this.values.get(key)! };
  }
  async write(name: string, v: { type: "REG_SZ" | "REG_EXPAND_SZ"; value: string }) {
    if (this.failWrite) throw new Error(this.failWrite);
    const stored = { type: v.type, value: this.mangle ? this.mangle(v.value) : v.value };
    this.writes.push({ name, v: stored });
    this.values.set(name, stored);
  }
  async remove(name: string) {
    this.writes.push({ name, v: null });
    this.values.delete(name);
  }
  async broadcast() {
    this.broadcasts++;
    return this.broadcastNote;
  }
}

function fakeHost(): Host {
  return {
    ...testHost("C:\\Users\\ana"),
    platform: "win32",
    arch: "x64",
    env: { ...ENV },
    home: "C:\\Users\\ana",
    tmpdir: "C:\\Users\\ana\\AppData\\Local\\Temp",
    pid: 4242,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: false,
    now: () => 0,
  };
}

function strategy() {
  const reg = new FakeRegistry();
  const s = win32Strategy(fakeHost(), { registry: reg });
  const layout = layoutFor("C:\\Users\\ana\\AppData\\Local\\tshup", path.win32);
  return { reg, s, layout };
}

describe("win32 strategy: a root given by --prefix is named as TSHUP_HOME", () => {
  test("written with the Path, listed in the dry run, kept when the user set it, removed on uninstall", async () => {
    const reg = new FakeRegistry();
    const s = win32Strategy(fakeHost(), { registry: reg });
    const custom = layoutFor("D:\\Tools\\tshup", path.win32);
    const dry = await s.addToPath(custom, { dryRun: true });
    assert.deepEqual(dry.edits.map((e) => [e.file, e.action]), [["HKCU\\Environment\\TSHUP_HOME", "would be created"], [USER_PATH_KEY, "would be created"]]);
    assert.equal(reg.writes.length, 0, "a dry run writes nothing");
    const out = await s.addToPath(custom, { dryRun: false });
    assert.deepEqual(reg.values.get("TSHUP_HOME"), { type: "REG_SZ", value: "D:\\Tools\\tshup" });
    assert.ok(out.created.includes("HKCU\\Environment\\TSHUP_HOME"));
    const again = await s.addToPath(custom, { dryRun: false });
    assert.equal(again.changed, false, "a rerun changes nothing");
    const removed = await s.removeFromPath(custom, { dryRun: false, createdFiles: out.created });
    assert.ok(removed.edits.some((e) => e.file === "HKCU\\Environment\\TSHUP_HOME" && e.action === "deleted"));
    assert.equal(reg.values.has("TSHUP_HOME"), false);
    // A TSHUP_HOME of the user's is never overwritten, the default root names nothing, and a
    // TSHUP_HOME tshup did not set stays on uninstall.
    const theirs = new FakeRegistry();
    theirs.values.set("TSHUP_HOME", { type: "REG_SZ", value: "E:\\mine" });
    await win32Strategy(fakeHost(), { registry: theirs }).addToPath(custom, { dryRun: false });
    assert.deepEqual(theirs.values.get("TSHUP_HOME"), { type: "REG_SZ", value: "E:\\mine" });
    const plain = new FakeRegistry();
    plain.values.set("TSHUP_HOME", { type: "REG_SZ", value: "E:\\mine" });
    const sp = win32Strategy(fakeHost(), { registry: plain });
    const layout = layoutFor("C:\\Users\\ana\\AppData\\Local\\tshup", path.win32);
    const made = await sp.addToPath(layout, { dryRun: false });
    await sp.removeFromPath(layout, { dryRun: false, createdFiles: made.created });
    assert.deepEqual(plain.values.get("TSHUP_HOME"), { type: "REG_SZ", value: "E:\\mine" });
  });
});

describe("win32 strategy: the user Path", () => {
  test("no Path value: created as REG_EXPAND_SZ, remembered as created, deleted again on uninstall", async () => {
    const { reg, s, layout } = strategy();
    const out = await s.addToPath(layout, { dryRun: false });
    assert.equal(out.changed, true);
    assert.deepEqual(out.edits, [{ file: USER_PATH_KEY, action: "created" }]);
    assert.deepEqual(out.created, [USER_PATH_KEY]);
    assert.deepEqual(reg.values.get("Path"), { type: "REG_EXPAND_SZ", value: BIN });
    assert.equal(reg.broadcasts, 1);
    assert.match(out.notes[0]!, /could not tell running programs.*sign out and back in/);

    const again = await s.addToPath(layout, { dryRun: false });
    assert.equal(again.changed, false);
    assert.equal(reg.writes.length, 1, "a second run writes nothing");
    assert.equal(reg.broadcasts, 1);

    const removed = await s.removeFromPath(layout, { dryRun: false, createdFiles: out.created });
    assert.deepEqual(removed.edits, [{ file: USER_PATH_KEY, action: "deleted" }]);
    assert.equal(reg.values.size, 0);
  });

  test("an existing REG_EXPAND_SZ Path keeps every byte; uninstall gives it back exactly", async () => {
    const { reg, s, layout } = strategy();
    const before = `${LONG};;C:\\Users\\Jürgen ł\\bin\\`;
    reg.values.set("Path", { type: "REG_EXPAND_SZ", value: before });
    const out = await s.addToPath(layout, { dryRun: false });
    assert.deepEqual(out.edits, [{ file: USER_PATH_KEY, action: "updated" }]);
    assert.deepEqual(out.created, []);
    assert.deepEqual(reg.values.get("Path"), { type: "REG_EXPAND_SZ", value: `${BIN};${before}` });
    const removed = await s.removeFromPath(layout, { dryRun: false, createdFiles: [] });
    assert.deepEqual(removed.edits, [{ file: USER_PATH_KEY, action: "updated" }]);
    assert.deepEqual(reg.values.get("Path"), { type: "REG_EXPAND_SZ", value: before });
  });

  test("REG_SZ stays REG_SZ; an entry of ours in another spelling counts as present", async () => {
    const { reg, s, layout } = strategy();
    reg.values.set("Path", { type: "REG_SZ", value: "C:\\Tools" });
    await s.addToPath(layout, { dryRun: false });
    assert.deepEqual(reg.values.get("Path"), { type: "REG_SZ", value: `${BIN};C:\\Tools` });

    const other = strategy();
    other.reg.values.set("Path", { type: "REG_EXPAND_SZ", value: "C:\\Tools;%LOCALAPPDATA%\\tshup\\bin\\" });
    const out = await other.s.addToPath(other.layout, { dryRun: false });
    assert.equal(out.changed, false);
    assert.equal(other.reg.writes.length, 0);
  });

  test("dry run reads only", async () => {
    const { reg, s, layout } = strategy();
    reg.values.set("Path", { type: "REG_EXPAND_SZ", value: "C:\\Tools" });
    const out = await s.addToPath(layout, { dryRun: true });
    assert.equal(out.changed, true);
    assert.equal(reg.writes.length, 0);
    assert.equal(reg.broadcasts, 0);
    const rm = await s.removeFromPath(layout, { dryRun: true, createdFiles: [] });
    assert.equal(rm.changed, false);
  });

  test("a registry that refuses the write: exit 7 naming the key, nothing changed", async () => {
    const { reg, s, layout } = strategy();
    reg.values.set("Path", { type: "REG_EXPAND_SZ", value: "C:\\Tools" });
    reg.failWrite = "reg add HKCU\\Environment /v Path failed: ERROR: Access is denied.";
    await assert.rejects(s.addToPath(layout, { dryRun: false }), (e: unknown) => {
      assert.ok(e instanceof TshupError);
      assert.equal(e.code, "system");
      assert.equal(e.exitCode, 7);
      assert.match(e.message, /HKCU\\Environment\\Path/);
      assert.match(e.message, /Access is denied/);
      return true;
    });
    assert.deepEqual(reg.values.get("Path"), { type: "REG_EXPAND_SZ", value: "C:\\Tools" });
  });

  test("an unreadable registry: exit 7 before anything is written", async () => {
    const { reg, s, layout } = strategy();
    reg.failRead = "reg export failed";
    await assert.rejects(s.addToPath(layout, { dryRun: false }), (e: any) => e.exitCode === 7 && /could not read the user Path \(HKCU\\Environment\\Path\)/.test(e.message));
    assert.equal(reg.writes.length, 0);
  });

  test("a value that reads back different is put back and reported", async () => {
    const { reg, s, layout } = strategy();
    reg.values.set("Path", { type: "REG_EXPAND_SZ", value: "C:\\Tools\\" });
    reg.mangle = (v) => v.slice(0, 10);
    await assert.rejects(s.addToPath(layout, { dryRun: false }), (e: any) => e.exitCode === 7 && /read back different/.test(e.message));
    reg.mangle = null;
    // The put-back write went through the mangler too in this simulation; what matters is that it was tried.
    assert.deepEqual(reg.writes.at(-1)!.name, "Path");
    assert.equal(reg.writes.length, 2);
  });

  test("a Path of another type is left alone", async () => {
    const { reg, s, layout } = strategy();
    reg.values.set("Path", { type: "REG_MULTI_SZ", value: "" });
    await assert.rejects(s.addToPath(layout, { dryRun: false }), (e: any) => e.exitCode === 7 && /REG_MULTI_SZ/.test(e.message));
    assert.equal(reg.writes.length, 0);
  });

  test("uninstall of a value tshup did not create keeps the value, even when only ours was left", async () => {
    const { reg, s, layout } = strategy();
    reg.values.set("Path", { type: "REG_EXPAND_SZ", value: BIN });
    const out = await s.removeFromPath(layout, { dryRun: false, createdFiles: [] });
    assert.deepEqual(out.edits, [{ file: USER_PATH_KEY, action: "updated" }]);
    assert.deepEqual(reg.values.get("Path"), { type: "REG_EXPAND_SZ", value: "" });
  });

  test("instructions for cmd and PowerShell", () => {
    const { s, layout } = strategy();
    const text = s.pathInstructions(layout);
    assert.match(text, /never with setx/);
    assert.match(text, /rundll32 sysdm\.cpl,EditEnvironmentVariables/);
    assert.ok(text.includes(`set "PATH=${BIN};%PATH%"`));
    assert.ok(text.includes(`$env:Path = '${BIN};' + $env:Path`));
    assert.match(text, /new terminal/);
    const hint = s.currentShellHint(layout);
    assert.ok(hint.includes(`set "PATH=${BIN};%PATH%" (cmd)`));
    assert.ok(hint.includes(`$env:Path = '${BIN};' + $env:Path (PowerShell)`));
  });
});

describe("reg.exe through the runner seam", () => {
  async function withRunner(handler: (file: string, args: string[]) => Partial<RunResult> | Promise<Partial<RunResult>>) {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-reg-"));
    const calls: { file: string; args: string[] }[] = [];
    const runner: Runner = async (file, args) => {
      calls.push({ file, args });
      return { code: 0, stdout: "", stderr: "", error: null, ...(await handler(file, args)) };
    };
    const env = regExeUserEnvironment({ systemRoot: path.join(dir, "Windows"), tmpdir: dir, join: path.join, tag: () => "7-test", runner });
    return { dir, calls, env };
  }

  test("write passes the value as one argument, untouched: no quoting of tshup's own", async () => {
    const { calls, env, dir } = await withRunner(() => ({}));
    const value = 'C:\\a b\\;%USERPROFILE%\\x;"C:\\semi;colon";C:\\end with space\\';
    await env.write("Path", { type: "REG_EXPAND_SZ", value });
    assert.deepEqual(calls, [
      { file: path.join(dir, "Windows", "System32", "reg.exe"), args: ["add", "HKCU\\Environment", "/v", "Path", "/t", "REG_EXPAND_SZ", "/d", value, "/f"] },
    ]);
    await fsp.rm(dir, { recursive: true });
  });

  test("read exports to a temp file, parses it and removes it", async () => {
    const { calls, env, dir } = await withRunner(async (_file, args) => {
      const text = regExportText([["Path", { type: "REG_EXPAND_SZ", value: "%USERPROFILE%\\x;C:\\Jürgen ł" }]]);
      await fsp.writeFile(args[2]!, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
      return {};
    });
    assert.deepEqual(await env.read("Path"), { type: "REG_EXPAND_SZ", value: "%USERPROFILE%\\x;C:\\Jürgen ł" });
    assert.deepEqual(calls[0]!.args.slice(0, 2), ["export", "HKCU\\Environment"]);
    assert.equal(calls[0]!.args[3], "/y");
    assert.deepEqual(await fsp.readdir(dir), [], "the export file is gone");
    await fsp.rm(dir, { recursive: true });
  });

  test("failures carry reg.exe's message", async () => {
    const { env, dir } = await withRunner(() => ({ code: 1, stderr: "ERROR: Access is denied.\r\n" }));
    await assert.rejects(env.read("Path"), /reg export HKCU\\Environment failed: ERROR: Access is denied\./);
    await assert.rejects(env.write("Path", { type: "REG_SZ", value: "x" }), /reg add .* failed: ERROR: Access is denied\./);
    await assert.rejects(env.remove("Path"), /reg delete .* failed/);
    await fsp.rm(dir, { recursive: true });
  });

  test("broadcast: a note when PowerShell is missing or does not confirm, null when it does", async () => {
    let stdout = "";
    const { env, dir, calls } = await withRunner(() => ({ stdout }));
    assert.match((await env.broadcast())!, /powershell\.exe is not there/);
    const ps = path.join(dir, "Windows", "System32", "WindowsPowerShell", "v1.0", "powershell.exe");
    await fsp.mkdir(path.dirname(ps), { recursive: true });
    await fsp.writeFile(ps, "");
    assert.match((await env.broadcast())!, /did not confirm/);
    stdout = "tshup-broadcast-done\r\n";
    assert.equal(await env.broadcast(), null);
    const args = calls.at(-1)!.args;
    assert.deepEqual(args.slice(0, 5), ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand"]);
    const script = Buffer.from(args[5]!, "base64").toString("utf16le");
    assert.match(script, /SendMessageTimeout\(\[System\.IntPtr\]0xffff, 0x1A, \[System\.UIntPtr\]::Zero, 'Environment', 0x2, 5000/);
    assert.equal(encodePowershell("a"), Buffer.from("a", "utf16le").toString("base64"));
    await fsp.rm(dir, { recursive: true });
  });
});
