import os from "node:os";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { FLAGS, type Command, type Flag } from "../src/commandline.js";
import type { RunResult } from "./support/cli.js";
import { OWN_FLAGS } from "./support/surface.js";
import { TshupError } from "../src/core/errors.js";
import { editDistance, nearest } from "../src/core/suggest.js";
import { parseOptions } from "../src/options.js";
import { cliVariants, makeHome, runCli } from "./support/cli.js";

/** A value each string flag accepts, so that only the flag's membership is on trial. */
const VALUE: Partial<Record<Flag, string>> = {
  proxy: "teleport.example.com",
  manifest: "site.yaml",
  version: "17.5.1",
  "cdn-url": "/srv/teleport",
  edition: "ent",
  tools: "tsh,tctl",
  prefix: "/tmp/tshup-root",
  user: "alice",
  login: "alice",
  "ca-file": "ca.pem",
  keep: "2",
  timeout: "5",
  jitter: "1",
  platforms: "linux-amd64",
};

const ARGS: Partial<Record<Command, string[]>> = { use: ["17.5.1"], mirror: ["/srv/mirror"], completions: ["bash"] };

function argvFor(command: Command, flag: Flag): string[] {
  const value = VALUE[flag];
  return [command, ...(ARGS[command] ?? []), `--${flag}`, ...(value === undefined ? [] : [value])];
}

function usage(argv: string[], message: RegExp, hint?: RegExp): void {
  assert.throws(
    () => parseOptions(argv),
    (e: unknown) => {
      assert.ok(e instanceof TshupError, `${argv.join(" ")}: ${String(e)}`);
      assert.equal(e.exitCode, 2, argv.join(" "));
      assert.match(e.message, message, argv.join(" "));
      if (hint) assert.match(e.hint, hint, argv.join(" "));
      assert.ok(!e.message.includes("\n"), "the error is one line");
      return true;
    },
  );
}

describe("each command takes only its own flags", () => {
  for (const [command, own] of Object.entries(OWN_FLAGS) as [Command, Flag[]][]) {
    test(`tshup ${command}`, () => {
      for (const flag of Object.keys(FLAGS) as Flag[]) {
        const argv = argvFor(command, flag);
        if (own.includes(flag)) {
          if (flag === "help") continue;
          assert.doesNotThrow(() => parseOptions(argv), argv.join(" "));
        } else {
          usage(argv, new RegExp(`^tshup ${command} does not take --${flag}$`), new RegExp(`--${flag} belongs to tshup `));
        }
      }
    });
  }

  test("the issue's example is refused, naming the first stray flag and the command", () => {
    usage(["list", "--keep", "2", "--per-cluster", "--insecure", "--jitter", "5"], /^tshup list does not take --keep$/, /--keep belongs to tshup install; tshup list takes --prefix, --json, --quiet, --verbose and --help/);
  });

  test("values, arguments and contradictions", () => {
    usage(["--bogus"], /^unknown flag --bogus for tshup install$/, /tshup install --help lists its flags/);
    usage(["-x"], /^unknown flag -x for tshup install$/);
    usage(["--keep", "zero"], /--keep zero is not a whole number/);
    usage(["--keep", "0"], /at least 1/);
    usage(["--keep", "-1"], /--keep -1 is not a whole number/);
    usage(["--keep"], /^--keep needs a value: N$/);
    usage(["--proxy", "--json"], /^--proxy needs a value: HOST\[:PORT\]$/);
    usage(["--json=yes"], /^--json takes no value/);
    usage(["--edition", "gold"], /is not one of auto, community, ent/);
    usage(["--tools", "tsh,teleport"], /unknown tool "teleport"/);
    usage(["--tools", "tctl"], /must include tsh/);
    usage(["--version", "17.5"], /is not a version like 17\.5\.1/);
    usage(["status", "--version"], /--version needs a version like 17\.5\.1/);
    usage(["--proxy", "a.example.com", "--version"], /--version needs a version like 17\.5\.1/);
    usage(["use"], /^tshup use needs the installed version to make active \(VERSION\)$/, /tshup list shows what is installed/);
    usage(["use", "17.5.1", "17.4.2"], /^tshup use takes one VERSION, got "17\.5\.1" "17\.4\.2"$/);
    usage(["mirror", "--version", "17.5.1"], /^tshup mirror needs a directory to fill \(DIR\)$/);
    usage(["list", "extra"], /^unexpected argument "extra" for tshup list$/);
    usage(["-q", "-v"], /contradict/);
  });

  test("what is accepted lands in the options", () => {
    const o = parseOptions(["--proxy", "a.example.com", "--proxy=b.example.com:3080", "--version", "v17.5.1", "-yq", "--json", "--tools", "tsh,tctl"]);
    assert.deepEqual(o.proxies, ["a.example.com", "b.example.com:3080"]);
    assert.equal(o.version, "17.5.1");
    assert.deepEqual(o.tools, ["tsh", "tctl"]);
    assert.equal(o.command, "install");
    assert.ok(o.yes && o.quiet && o.json);
    assert.deepEqual([...o.explicit].sort(), ["json", "proxy", "quiet", "tools", "version", "yes"]);
    // A flag's value is never taken for the command.
    assert.deepEqual(parseOptions(["--proxy", "status", "--json"]).proxies, ["status"]);
    assert.equal(parseOptions(["--proxy", "status", "--json"]).command, "install");
    assert.equal(parseOptions(["use", "17.5.1"]).positionals[0], "17.5.1");
    assert.equal(parseOptions(["status", "--json"]).command, "status");
    assert.deepEqual(parseOptions(["mirror", "--version", "17.5.1,16.4.3", "--", "-odd-dir"]).positionals, ["-odd-dir"]);
    assert.deepEqual(parseOptions(["mirror", "d", "--version", "17.5.1,v16.4.3"]).versions, ["17.5.1", "16.4.3"]);
    assert.equal(parseOptions(["--keep", "1", "--keep", "4"]).keep, 4, "a repeated flag: the last one counts");
  });
});

describe("typos get the nearest command or flag, and only a close one", () => {
  test("edit distance counts a swap of neighbours as one edit", () => {
    assert.equal(editDistance("stauts", "status"), 1);
    assert.equal(editDistance("instal", "install"), 1);
    assert.equal(editDistance("dryrun", "dry-run"), 1);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(nearest("prox", ["proxy", "prefix"]), "proxy");
    assert.equal(nearest("updat", ["install", "status", "list", "use", "uninstall", "doctor", "mirror", "help"]), null);
    assert.equal(nearest("ls", ["list", "use"]), null, "two edits in a four-letter word is no longer a slip");
  });

  test("commands and flags", () => {
    usage(["instal"], /^unknown command "instal"$/, /^did you mean tshup install\? commands: install, status, list, use, uninstall, doctor, mirror, completions, self;/);
    usage(["stauts"], /^unknown command "stauts"$/, /^did you mean tshup status\?/);
    usage(["hepl"], /^unknown command "hepl"$/, /^did you mean tshup help\?/);
    // The one command with update in it is two words: that is the nearest, and worth naming.
    usage(["updat"], /^unknown command "updat"$/, /^did you mean tshup self update\? commands: /);
    usage(["help", "lst"], /^unknown command "lst"$/, /^did you mean tshup list\?/);
    usage(["--prox", "teleport.example.com"], /^unknown flag --prox for tshup install$/, /^did you mean --proxy\?/);
    usage(["use", "17.5.1", "--dryrun"], /^unknown flag --dryrun for tshup use$/, /^did you mean --dry-run\? tshup use takes /);
    usage(["status", "--jsno"], /^unknown flag --jsno for tshup status$/, /^did you mean --json\?/);
    usage(["list", "--frobnicate"], /^unknown flag --frobnicate for tshup list$/, /^tshup list takes --prefix/);
  });
});

describe("--version: tshup's own without a value, a tsh pin with one", () => {
  test("parsing", () => {
    for (const argv of [["--version"], ["--version", "--json"], ["--json", "--version"], ["--version", "-q"]]) {
      assert.ok(parseOptions(argv).showVersion, argv.join(" "));
    }
    assert.ok(parseOptions(["--version", "--json"]).json);
    const pin = parseOptions(["--version", "17.5.1", "--json"]);
    assert.equal(pin.showVersion, false);
    assert.equal(pin.version, "17.5.1");
    assert.equal(parseOptions(["status", "--version", "17.5.1"]).version, "17.5.1");
    // Once a command or an install flag is there, a --version without a value is a forgotten pin.
    usage(["install", "--version"], /--version needs a version like 17\.5\.1/);
    usage(["--version", "--proxy", "teleport.example.com"], /--version needs a version like 17\.5\.1/);
  });

  test("the built CLI prints it as text, or as one JSON document", async () => {
    const variant = cliVariants()[0]!;
    const text = await runCli(variant, ["--version"]);
    assert.equal(text.code, 0, text.stderr);
    const m = /^tshup (\S+) \((\S+)\)\n$/.exec(text.stdout);
    assert.ok(m, text.stdout);
    for (const argv of [["--version", "--json"], ["--json", "--version"]]) {
      const r = await runCli(variant, argv);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.json, { version: m[1], commit: m[2] });
      assert.equal(r.stderr, "");
    }
  });
});

describe("the built CLI refuses stray flags with exit 2 and one JSON document", () => {
  const variant = cliVariants()[0]!;
  let home: Awaited<ReturnType<typeof makeHome>>;
  before(async () => {
    home = await makeHome("tshup-surface-");
  });
  after(async () => home.cleanup());

  test("tshup list --keep 2 --per-cluster --insecure --jitter 5", async () => {
    const r = await runCli(variant, ["list", "--keep", "2", "--per-cluster", "--insecure", "--jitter", "5", "--json"], { env: home.env });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.json.command, "list");
    assert.equal(r.json.error.code, "usage");
    assert.equal(r.json.error.message, "tshup list does not take --keep");
    assert.equal(r.stderr, "tshup: error: tshup list does not take --keep\n  hint: --keep belongs to tshup install; tshup list takes --prefix, --json, --quiet, --verbose and --help\n");
  });

  test("tshup instal, and --dryrun on use", async () => {
    const typo = await runCli(variant, ["instal", "--proxy", "teleport.example.com"], { env: home.env });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /^tshup: error: unknown command "instal"\n  hint: did you mean tshup install\?/);
    const flag = await runCli(variant, ["use", "17.5.1", "--dryrun"], { env: home.env });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^tshup: error: unknown flag --dryrun for tshup use\n  hint: did you mean --dry-run\?/);
  });
});

/** The page's lines, each within an 80-column terminal. */
function pageLines(r: RunResult, what: string): string[] {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  assert.equal(r.stderr, "", what);
  const lines = r.stdout.split("\n");
  for (const line of lines) assert.ok(line.length <= 80, `${what}: a line of ${line.length} columns: ${line}`);
  return lines;
}

/** The long flags a section lists, in order: its rows start with "  -". */
function sectionFlags(lines: string[], heading: string): string[] {
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `no "${heading}" section`);
  const end = lines.indexOf("", start);
  return lines.slice(start + 1, end).flatMap((l) => /^  (?:-\w, )?--([a-z-]+)/.exec(l)?.[1] ?? []);
}

describe("help: an overview, and a page for each command", () => {
  const variant = cliVariants()[0]!;

  test("tshup --help lists every command, every flag, the environment and the exit codes", async () => {
    const r = await runCli(variant, ["--help"]);
    const lines = pageLines(r, "tshup --help");
    for (const argv of [["-h"], ["help"]]) assert.equal((await runCli(variant, argv)).stdout, r.stdout, argv.join(" "));
    const commands = lines.slice(lines.indexOf("Commands:") + 1, lines.indexOf("", lines.indexOf("Commands:"))).flatMap((l) => /^  ([a-z]+(?: [a-z]+)?)/.exec(l)?.[1] ?? []);
    assert.deepEqual(commands, [...Object.keys(OWN_FLAGS), "help"]);
    assert.deepEqual(sectionFlags(lines, "Flags (tshup COMMAND --help shows the ones that command takes):").sort(), Object.keys(FLAGS).sort());
    assert.match(r.stdout, /^  --manifest PATH\|URL +a site manifest/m);
    assert.match(r.stdout, /^  --version \[--json\] +tshup's own version$/m);
    const environment = r.stdout.slice(r.stdout.indexOf("Environment:"));
    for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "TELEPORT_HOME", "TELEPORT_PROXY", "TELEPORT_CDN_BASE_URL", "TSHUP_HOME", "NO_COLOR", "CI"]) {
      assert.match(environment, new RegExp(`^  (.*[ ,])?${name}\\b`, "m"), name);
    }
    for (const code of [0, 1, 2, 3, 4, 5, 6, 7]) assert.match(r.stdout.slice(r.stdout.indexOf("Exit codes")), new RegExp(`^  ${code} +[a-z]+: `, "m"));
  });

  for (const [command, own] of Object.entries(OWN_FLAGS) as [Command, Flag[]][]) {
    test(`tshup ${command} --help and tshup help ${command}`, async () => {
      const r = await runCli(variant, [command, "--help"]);
      const lines = pageLines(r, `tshup ${command} --help`);
      assert.equal((await runCli(variant, ["help", command])).stdout, r.stdout, `tshup help ${command}`);
      assert.match(lines[0]!, new RegExp(`^tshup ${command}: `));
      assert.ok(lines.some((l) => l.startsWith(`Usage: tshup ${command === "install" ? "[install]" : command}`)), "a usage line");
      assert.deepEqual(sectionFlags(lines, "Flags:"), own, "the page lists the command's flags and no others");
      const examples = lines.slice(lines.indexOf("Examples:") + 1, lines.indexOf("", lines.indexOf("Examples:")));
      assert.ok(examples.filter((l) => l.startsWith("  tshup ")).length >= 2, "two examples or more");
      const exits = lines.slice(lines.indexOf("Exit codes:") + 1).flatMap((l) => /^  (\d+) /.exec(l)?.[1] ?? []).map(Number);
      assert.ok(exits.includes(0) && exits.includes(2), `exit codes: ${exits.join(", ")}`);
      assert.deepEqual(exits, [...exits].sort((a, b) => a - b));
    });
  }

  test("tshup self --help and tshup help self: the group's page; tshup help help: help's own", async () => {
    const r = await runCli(variant, ["self", "--help"]);
    const lines = pageLines(r, "tshup self --help");
    for (const argv of [["help", "self"], ["self", "-h"], ["self", "--bogus", "--help"]]) assert.equal((await runCli(variant, argv)).stdout, r.stdout, argv.join(" "));
    assert.match(lines[0]!, /^tshup self: /);
    const commands = lines.slice(lines.indexOf("Commands:") + 1, lines.indexOf("", lines.indexOf("Commands:"))).flatMap((l) => /^  (self [a-z]+) /.exec(l)?.[1] ?? []);
    assert.deepEqual(commands, Object.keys(OWN_FLAGS).filter((c) => c.startsWith("self ")));
    const bare = await runCli(variant, ["self"]);
    assert.equal(bare.code, 2);
    assert.equal(bare.stderr, "tshup: error: tshup self needs a subcommand: install, update\n  hint: tshup self --help lists them\n");
    const help = pageLines(await runCli(variant, ["help", "help"]), "tshup help help");
    assert.match(help[0]!, /^tshup help: /);
    assert.ok(help.includes("Usage: tshup help [COMMAND]"));
  });

  test("help wins over the rest of the line; a page for a command that does not exist is a typo", async () => {
    const r = await runCli(variant, ["list", "--keep", "2", "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^tshup list: /);
    const typo = await runCli(variant, ["help", "mirorr"]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /did you mean tshup mirror\?/);
  });
});

for (const variant of cliVariants()) {
  test(`${variant.name}: a reader that goes away early (tshup --help | head -1) is no error`, async () => {
    const { spawn } = await import("node:child_process");
    for (const args of [["--help"], ["completions", "bash"], ["status", "--help"]]) {
      const child = spawn(variant.command[0]!, [...variant.command.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"] });
      // The read end closes before the child writes: its writes fail with EPIPE.
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
      assert.equal(stderr, "", `${args.join(" ")}: ${stderr}`);
      assert.equal(code, 0, args.join(" "));
    }
  });
}

for (const variant of cliVariants()) {
  test(`${variant.name}: stdout on a full disk (> /dev/full) is one line on stderr and exit 7`, async (t) => {
    const fs = await import("node:fs");
    if (!fs.existsSync("/dev/full")) throw new Error("/dev/full is missing: this test needs Linux");
    const { spawn } = await import("node:child_process");
    const full = fs.openSync("/dev/full", "w");
    t.after(() => fs.closeSync(full));
    const child = spawn(variant.command[0]!, [...variant.command.slice(1), "--help"], { stdio: ["ignore", full, "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    assert.equal(code, 7, stderr);
    assert.match(stderr, /^tshup: error: cannot write to stdout: ENOSPC[^\n]*\n {2}hint: [^\n]+\n$/);
  });
}

describe("--verbose: a stack only for a bug", () => {
  test("a known failure is its message and hint, with or without --verbose", async () => {
    const r = await runCli(cliVariants()[0]!, ["--bogus", "--verbose"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "tshup: error: unknown flag --bogus for tshup install\n  hint: tshup install --help lists its flags\n");
  });

  test("an internal error shows its stack with --verbose, and only then", async () => {
    const { main } = await import("../src/cli.js");
    const { testHost } = await import("./support/host.js");
    const { Writable } = await import("node:stream");
    for (const verbose of [false, true]) {
      let stderr = "";
      const host = testHost(os.tmpdir(), {
        // The version line is the first thing written: failing it is a failure tshup did not foresee.
        stdout: new Writable({ write: (_chunk, _enc, done) => done(new Error("write refused")) }) as never,
        stderr: new Writable({ write: (chunk, _enc, done) => ((stderr += String(chunk)), done()) }) as never,
      });
      (host.stdout as unknown as { write: () => never }).write = () => {
        throw new RangeError("stdout refused the version line");
      };
      const code = await main(["--version", ...(verbose ? ["--verbose"] : [])], host);
      assert.equal(code, 1);
      assert.match(stderr, /^tshup: error: internal error: stdout refused the version line\n  hint: this is a bug in tshup; please report it with the output of the same command run with --verbose\n/);
      if (verbose) assert.match(stderr, /\nRangeError: stdout refused the version line\n +at /);
      else assert.doesNotMatch(stderr, /\bat /);
    }
  });
});
