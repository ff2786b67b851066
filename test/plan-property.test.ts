import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { linux, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, isRunScratch, makeHome, runCli, snapshot } from "./support/cli.js";

const variant = cliVariants()[0]!;
const VERSIONS = ["16.4.3", "17.4.2", "17.5.1", "17.5.2"];
const SITUATIONS = 24;
const SEED = Number(process.env.TSHUP_PLAN_SEED ?? 20261201);

/** A small seeded generator, so a failing situation can be run again by its seed. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}

/**
 * SPEC and the plan's promise, checked over many generated situations: a dry run changes nothing
 * and exits 3 exactly when its plan lists a change; the real run then changes exactly what the plan
 * listed, nothing else; a run that fails changes nothing.
 */
describe("the plan is what happens (generated situations)", { concurrency: 1 }, () => {
  let standin: Standin;
  let main: StandinProxy;
  let legacy: StandinProxy;
  before(async () => {
    standin = await startStandin();
    main = await standin.addProxy({ cluster: "main", serverVersion: "17.5.1" });
    legacy = await standin.addProxy({ cluster: "legacy", serverVersion: "15.4.2" });
    for (const v of [...VERSIONS, "15.4.2"]) await standin.addArtifact(linux(v));
  });
  after(async () => standin.close());

  for (let n = 0; n < SITUATIONS; n++) {
    const seed = SEED + n;
    test(`situation ${n} (TSHUP_PLAN_SEED=${seed} reproduces it as situation 0)`, async (t) => {
      const g = generator(seed);
      const h = await makeHome("tshup-plan-");
      t.after(h.cleanup);
      const env = { ...h.env, ...standin.env };
      const root = path.join(h.home, ".local", "share", "tshup");
      const run = (args: string[]) => runCli(variant, ["--json", "--yes", ...args], { env });
      const story: string[] = [];
      const step = async (args: string[]) => {
        story.push(args.join(" "));
        const r = await run(args);
        assert.equal(r.code, 0, `setting up (${story.join(" | ")}): ${r.stderr}`);
      };

      // What was there before: some versions, maybe a use pin, maybe one tsh per cluster.
      main.update({ serverVersion: g.pick(["17.5.1", "17.5.2"]) });
      const setupFlags = () => [...(g.chance(0.2) ? ["--no-modify-path"] : []), ...(g.chance(0.2) ? ["--no-config"] : []), "--user", "alice", "--keep", "9"];
      for (const v of VERSIONS.filter(() => g.chance(0.45))) await step(["--proxy", main.addr, "--version", v, ...setupFlags(), ...(g.chance(0.3) ? ["--tools", "tsh,tctl"] : [])]);
      if (g.chance(0.25)) await step(["--proxy", main.addr, "--proxy", legacy.addr, "--per-cluster", ...setupFlags()]);
      if (g.chance(0.25)) {
        const installed = (await run(["list"])).json?.installed as string[] | undefined;
        if (installed?.length) await step(["use", g.pick(installed)]);
      }
      main.update({ serverVersion: g.pick(["17.5.1", "17.5.2"]) });

      // The run under test.
      const args = [
        "--proxy", main.addr,
        ...(g.chance(0.25) ? ["--proxy", legacy.addr, "--per-cluster"] : []),
        ...(g.chance(0.2) ? ["--version", g.pick(VERSIONS)] : []),
        ...(g.chance(0.5) ? ["--keep", String(g.int(1, 4))] : []),
        ...(g.chance(0.15) ? ["--force"] : []),
        ...(g.chance(0.2) ? ["--tools", g.pick(["tsh", "tsh,tctl"])] : []),
        ...(g.chance(0.2) ? ["--no-modify-path"] : []),
        ...(g.chance(0.2) ? ["--no-config"] : []),
        ...(g.chance(0.3) ? ["--user", g.pick(["alice", "bob"])] : []),
      ];
      const label = `${story.join(" | ")} || ${args.join(" ")}`;
      const before = await snapshot(h.home);
      const dry = await run([...args, "--dry-run"]);
      assert.deepEqual(await snapshot(h.home), before, `a dry run changes nothing (${label})`);
      const real = await run(args);
      const afterRun = await snapshot(h.home);
      if (dry.code !== 0 && dry.code !== 3) {
        assert.equal(real.code, dry.code, `the real run fails as the dry run did (${label}): ${real.stderr}`);
        assert.deepEqual([...afterRun].filter(([p]) => !isRunScratch(p)), [...before].filter(([p]) => !isRunScratch(p)), `a failed run changes nothing (${label})`);
        return;
      }
      assert.equal(real.code, 0, `${label}: ${real.stderr}`);
      const plan = dry.json.plan;
      const listed = plan.install.length + (plan.activate ? 1 : 0) + plan.aliases.link.length + plan.aliases.remove.length + (plan.path?.length ?? 0) + (plan.config?.length ?? 0) + plan.prune.length + plan.settings.length + (plan.adopt ? 1 : 0);
      assert.equal(dry.code, listed > 0 ? 3 : 0, `exit 3 exactly when the plan lists a change (${label}): ${JSON.stringify(plan)}`);

      const changed = new Set<string>();
      for (const [p, v] of afterRun) if (before.get(p) !== v && !isRunScratch(p)) changed.add(p);
      for (const p of before.keys()) if (!afterRun.has(p) && !isRunScratch(p)) changed.add(p);
      if (listed === 0) {
        assert.deepEqual([...changed], [], `an empty plan changes nothing (${label})`);
        return;
      }
      const inVersion = (id: string) => (p: string) => p.startsWith(path.join(root, "versions", id) + path.sep);
      const bin = (name: string) => path.join(root, "bin", name);
      const explained = (p: string): boolean =>
        [...plan.install.map((i: any) => i.id), ...plan.prune].some((id: string) => inVersion(id)(p)) ||
        ((p === bin("tsh") || p === bin("tctl")) && plan.activate !== null) ||
        [...plan.aliases.link.map((a: any) => a.name), ...plan.aliases.remove].some((a: string) => p === bin(a)) ||
        (plan.path ?? []).some((e: any) => e.file === p) ||
        ((plan.config?.length ?? 0) > 0 && (p.startsWith(path.join(h.home, ".ssh") + path.sep) || p.startsWith(path.join(h.home, ".tsh") + path.sep))) ||
        p === path.join(root, "state.json") ||
        p === path.join(root, ".tshup-root");
      const unexplained = [...changed].filter((p) => !explained(p));
      assert.deepEqual(unexplained, [], `nothing changes that the plan did not list (${label}): ${JSON.stringify(plan)}`);

      // And everything the plan listed happened.
      for (const i of plan.install) assert.ok([...changed].some(inVersion(i.id)), `installed ${i.id} (${label})`);
      for (const id of plan.prune) assert.ok(![...afterRun.keys()].some(inVersion(id)), `pruned ${id} (${label})`);
      if (plan.activate) assert.equal(afterRun.get(bin("tsh")), `-> ../versions/${plan.activate.id}/tsh`, `activated ${plan.activate.id} (${label})`);
      for (const a of plan.aliases.link) assert.equal(afterRun.get(bin(a.name)), `-> ../versions/${a.id}/tsh`, `linked ${a.name} (${label})`);
      for (const a of plan.aliases.remove) assert.ok(!afterRun.has(bin(a)), `removed ${a} (${label})`);
      for (const e of plan.path ?? []) assert.ok(changed.has(e.file), `edited ${e.file} (${label})`);
      if ((plan.config?.length ?? 0) > 0) assert.ok([...changed].some((p) => p.includes(`${path.sep}.ssh${path.sep}`) || p.includes(`${path.sep}.tsh${path.sep}`)), `seeded config (${label})`);
    });
  }
});
