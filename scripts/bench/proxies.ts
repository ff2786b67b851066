// Several clusters: `status` and a no-op install against 20 proxies, run by the Node the executables
// embed, should cost little more than against one, since the TLS context is built once per run; measured with --ca-file, where it used
// to be rebuilt. Node's own cost of 20 GETs over one, measured in the same rounds, is the floor of
// what each further proxy can cost.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { linux, startStandin } from "../../test/support/standin.js";
import { median, pinnedNode, readExitFigures, ROOT, withExitFigures, type BenchRow } from "./common.js";

const CLI = path.join(ROOT, "dist", "tshup.cjs");
const VERSION = "17.5.1";
const PROXIES = 20;
// Parallel GETs of /webapi/find, trusting the CA the way tshup does with --ca-file.
const BARE_GETS = `
  const https = require("node:https"), tls = require("node:tls"), fs = require("node:fs");
  const [ca, ...addrs] = process.argv.slice(1);
  const secureContext = tls.createSecureContext();
  secureContext.context.addCACert(fs.readFileSync(ca, "utf8"));
  let left = addrs.length;
  for (const a of addrs) https.get("https://" + a + "/webapi/find", { secureContext }, (r) => {
    r.resume();
    r.on("end", () => { if (--left === 0) process.exit(0); });
  }).on("error", (e) => { console.error(e.message); process.exit(1); });`;

const ms = (n: number) => `${n.toFixed(0)} ms`;

export async function benchProxies(rounds = 15): Promise<BenchRow[]> {
  const standin = await startStandin();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "tshup-bench-proxies-"));
  try {
    const proxies: { addr: string }[] = [];
    for (let i = 0; i < PROXIES; i++) proxies.push(await standin.addProxy({ cluster: `c${i}`, serverVersion: VERSION }));
    await standin.addArtifact(linux(VERSION));
    const node = pinnedNode() ?? process.execPath;
    // One home per number of proxies: the install remembers its proxies, so runs that alternated
    // between one and twenty in one home would each have that to write.
    const envFor = (n: number) => ({ HOME: path.join(home, String(n)), PATH: "/usr/bin:/bin", TELEPORT_CDN_BASE_URL: standin.cdnUrl });
    const timed = (args: string[], what: string, n: number, extraEnv: NodeJS.ProcessEnv = {}) =>
      new Promise<number>((resolve, reject) => {
        const started = process.hrtime.bigint();
        execFile(node, args, { env: { ...envFor(n), ...extraEnv } }, (err, _stdout, stderr) => {
          if (err) reject(new Error(`${what} failed: ${stderr.trim()}`));
          else resolve(Number(process.hrtime.bigint() - started) / 1e6);
        });
      });
    const addrs = (n: number) => proxies.slice(0, n).map((p) => p.addr);
    const tshupArgs = (command: readonly string[], n: number) => [CLI, ...command, "--ca-file", standin.caFile, ...addrs(n).flatMap((a) => ["--proxy", a])];
    const bareArgs = (n: number) => ["-e", BARE_GETS, standin.caFile, ...addrs(n)];
    const tshup = (command: readonly string[], n: number) => timed(tshupArgs(command, n), `tshup ${command.join(" ")} with ${n} proxies`, n);
    const bare = (n: number) => timed(bareArgs(n), `${n} bare GETs`, n);
    const install = ["install", "--yes", "--quiet", "--no-modify-path", "--no-config"];
    // Installs once in each home, so that every timed install below has nothing to do.
    for (const n of [1, PROXIES]) {
      fs.mkdirSync(path.join(home, String(n)));
      await tshup(install, n);
    }
    const commands = [
      ["status", ["status", "--json"]],
      ["no-op install", install],
    ] as const;
    const times = { bare1: [] as number[], bareN: [] as number[], one: commands.map(() => [] as number[]), many: commands.map(() => [] as number[]) };
    for (let i = 0; i < rounds; i++) {
      times.bare1.push(await bare(1));
      times.bareN.push(await bare(PROXIES));
      for (const [j, [, command]] of commands.entries()) {
        times.one[j]!.push(await tshup(command, 1));
        times.many[j]!.push(await tshup(command, PROXIES));
      }
    }
    // The client's own CPU, in rounds of their own so that the preloaded hook is not in the times
    // above: what each further proxy costs tshup, against what it costs Node's bare GETs.
    const figuresFile = path.join(home, "figures.json");
    const cpuOf = async (args: string[], what: string, n: number) => {
      const hook = withExitFigures(figuresFile);
      await timed([...hook.nodeArgs, ...args], what, n, hook.env);
      return readExitFigures(figuresFile).cpuMs;
    };
    const cpu = { bare1: [] as number[], bareN: [] as number[], one: [] as number[], many: [] as number[] };
    const status = ["status", "--json"];
    for (let i = 0; i < rounds; i++) {
      cpu.bare1.push(await cpuOf(bareArgs(1), "1 bare GET", 1));
      cpu.bareN.push(await cpuOf(bareArgs(PROXIES), `${PROXIES} bare GETs`, PROXIES));
      cpu.one.push(await cpuOf(tshupArgs(status, 1), "tshup status with 1 proxy", 1));
      cpu.many.push(await cpuOf(tshupArgs(status, PROXIES), `tshup status with ${PROXIES} proxies`, PROXIES));
    }
    const perProxy = (one: number[], many: number[]) => (median(many) - median(one)) / (PROXIES - 1);
    // The client is one thread, so its own CPU per further proxy is a floor under the time each
    // one adds; the 1.30x target leaves this much time per further proxy over one proxy's run.
    const allowed = (0.3 * median(times.one[0]!)) / (PROXIES - 1);
    const cpuRow: BenchRow = {
      name: "status, client CPU per further proxy",
      value: `tshup ${perProxy(cpu.one, cpu.many).toFixed(1)} ms, Node's own GET ${perProxy(cpu.bare1, cpu.bareN).toFixed(1)} ms; 1.30x leaves ${allowed.toFixed(1)} ms`,
      target: "",
      ok: true,
    };
    const floor = median(times.bareN) - median(times.bare1);
    const rows = commands.map(([label], j): BenchRow => {
      const one = median(times.one[j]!);
      const many = median(times.many[j]!);
      const ratio = many / one;
      return {
        name: `${label}, ${PROXIES} proxies vs 1 (--ca-file)`,
        value: `${ms(many)} vs ${ms(one)} = ${ratio.toFixed(2)}x: +${ms(many - one)}, where Node's own ${PROXIES} GETs take +${ms(floor)} over one`,
        target: "<= 1.30x",
        ok: ratio <= 1.3,
      };
    });
    return [...rows, cpuRow];
  } finally {
    await standin.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}
