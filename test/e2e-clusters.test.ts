import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { linux, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, makeHome, runCli } from "./support/cli.js";

const variant = cliVariants()[0]!;

describe("several clusters", () => {
  let standin: Standin;
  let newer: StandinProxy;
  let older: StandinProxy;
  let oldest: StandinProxy;
  before(async () => {
    standin = await startStandin();
    newer = await standin.addProxy({ cluster: "prod", serverVersion: "17.5.1" });
    older = await standin.addProxy({ cluster: "lab", serverVersion: "16.4.3" });
    oldest = await standin.addProxy({ cluster: "legacy", serverVersion: "15.4.2" });
    for (const v of ["17.5.1", "16.4.3", "15.4.2"]) await standin.addArtifact(linux(v));
  });
  after(async () => standin.close());

  const run = async (args: string[], home: { env: Record<string, string> }) => runCli(variant, [...args, "--json"], { env: { ...home.env, ...standin.env } });

  test("16.4.x and 17.5.x give 16.4.x, which both accept", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const r = await run(["--proxy", newer.addr, "--proxy", older.addr], h);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.version, "16.4.3");
    assert.deepEqual(r.json.clusters.map((c: any) => [c.cluster, c.target, c.compatible]), [["prod", "17.5.1", true], ["lab", "16.4.3", true]]);
  });

  test("15.x and 17.x do not overlap: exit 6 naming each cluster and its window", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const r = await run(["--proxy", newer.addr, "--proxy", oldest.addr], h);
    assert.equal(r.code, 6);
    assert.equal(r.json.error.code, "incompatible");
    assert.match(r.json.error.message, /prod \(127\.0\.0\.1:\d+\) runs 17\.5\.1 and accepts 16\.x or 17\.x/);
    assert.match(r.json.error.message, /legacy \(127\.0\.0\.1:\d+\) runs 15\.4\.2 and accepts 14\.x or 15\.x/);
    assert.match(r.json.error.hint, /--per-cluster/);
  });

  test("--per-cluster installs each cluster's tsh side by side, with ssh config pointing at each", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const r = await run(["--proxy", newer.addr, "--proxy", oldest.addr, "--per-cluster", "--user", "alice"], h);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.version, "17.5.1", "the first cluster's version is the default tsh");
    const bin = path.join(h.home, ".local", "share", "tshup", "bin");
    assert.match(execFileSync(path.join(bin, "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.1 /);
    assert.match(execFileSync(path.join(bin, "tsh-legacy"), ["version"], { encoding: "utf8" }), /v15\.4\.2 /);
    assert.deepEqual(fs.readdirSync(path.join(h.home, ".local", "share", "tshup", "versions")).sort(), ["15.4.2", "17.5.1"]);
    const conf = (name: string) => fs.readFileSync(path.join(h.home, ".ssh", "tshup", `${name}.conf`), "utf8");
    assert.match(conf("prod"), new RegExp(`ProxyCommand /usr/bin/env TELEPORT_TOOLS_VERSION=off '${path.join(bin, "tsh")}' proxy ssh --cluster=prod`));
    assert.match(conf("legacy"), new RegExp(`ProxyCommand /usr/bin/env TELEPORT_TOOLS_VERSION=off '${path.join(bin, "tsh-legacy")}' proxy ssh --cluster=legacy`));
    assert.deepEqual(r.json.per_cluster.map((c: any) => [c.cluster, c.version]), [["prod", "17.5.1"], ["legacy", "15.4.2"]]);
    assert.deepEqual(r.json.clusters.map((c: any) => c.compatible), [true, true], "each cluster is served by a tsh in its window");

    const again = await run(["--proxy", newer.addr, "--proxy", oldest.addr, "--per-cluster", "--user", "alice"], h);
    assert.equal(again.json.changed, false, JSON.stringify(again.json.steps));
    // A rerun with no proxy at all asks the clusters the last install served (not only tsh's
    // current profile), so tsh-legacy, which legacy's ssh config runs, stays.
    const bare = await run(["--yes"], h);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(bare.json.changed, false, JSON.stringify(bare.json.steps));
    assert.ok(fs.existsSync(path.join(bin, "tsh-legacy")));
    // --force reinstalls; it does not fold clusters without a common window onto one tsh.
    const forced = await run(["--proxy", newer.addr, "--proxy", oldest.addr, "--force"], h);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(execFileSync(path.join(bin, "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.1 /);
    assert.match(execFileSync(path.join(bin, "tsh-legacy"), ["version"], { encoding: "utf8" }), /v15\.4\.2 /);
    // --per-cluster is remembered: status, doctor and a plain rerun need not repeat it.
    const plain = await run(["--proxy", newer.addr, "--proxy", oldest.addr], h);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.json.changed, false, JSON.stringify(plain.json.steps));
    assert.ok(fs.existsSync(path.join(bin, "tsh-legacy")), "a rerun without the flag keeps the alias");
    for (const cmd of [["status"], ["status", "--per-cluster"]]) {
      const status = await run([...cmd, "--proxy", newer.addr, "--proxy", oldest.addr], h);
      assert.equal(status.code, 0, `${cmd.join(" ")}: the alias serves its cluster, nothing to do: ${status.stderr}`);
      assert.deepEqual(status.json.clusters.map((c: any) => c.compatible), [true, true]);
    }
    const doctor = await run(["doctor", "--proxy", newer.addr, "--proxy", oldest.addr], h);
    const versions = doctor.json.findings.filter((f: any) => f.check === "version");
    assert.deepEqual(versions.map((f: any) => f.status), ["ok", "ok"], JSON.stringify(versions));
    assert.match(versions[1].detail, /tsh-legacy 15\.4\.2 suits legacy/);

    // The plan a dry run shows is what the real run does: the alias goes, and it says so first.
    const dry = await run(["--proxy", newer.addr, "--user", "alice", "--dry-run"], h);
    assert.equal(dry.code, 3, "removing an alias is a change");
    assert.deepEqual(dry.json.plan.aliases.remove, ["tsh-legacy"]);
    assert.ok(dry.json.steps.some((s: any) => /remove .*tsh-legacy/.test(s.detail)), JSON.stringify(dry.json.steps));
    assert.ok(fs.existsSync(path.join(bin, "tsh-legacy")), "a dry run changes nothing");
    const single = await run(["--proxy", newer.addr, "--user", "alice"], h);
    assert.equal(single.code, 0, single.stderr);
    assert.ok(!fs.existsSync(path.join(bin, "tsh-legacy")), "an alias no longer wanted is removed");
    assert.deepEqual(single.json.steps.filter((s: any) => s.step === "alias").map((s: any) => s.detail), ["removed tsh-legacy"]);
  });

  test("--no-per-cluster lifts a remembered --per-cluster", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    assert.equal((await run(["--proxy", newer.addr, "--proxy", oldest.addr, "--per-cluster", "--user", "alice"], h)).code, 0);
    const apart = await run(["--proxy", newer.addr, "--proxy", oldest.addr, "--no-per-cluster"], h);
    assert.equal(apart.code, 6, "one tsh cannot serve both: said, and nothing is forgotten");
    const status = await run(["status", "--proxy", newer.addr], h);
    assert.equal(status.json.settings.perCluster, true);
    const one = await run(["--proxy", newer.addr, "--no-per-cluster"], h);
    assert.equal(one.code, 0, one.stderr);
    assert.equal((await run(["status", "--proxy", newer.addr], h)).json.settings.perCluster, undefined);
    const both = await run(["--per-cluster", "--no-per-cluster"], h);
    assert.equal(both.code, 2);
  });

  test("with nothing installed a cluster is neither compatible nor not: null, and the text says so", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const r = await run(["status", "--proxy", newer.addr], h);
    assert.equal(r.code, 3);
    assert.equal(r.json.clusters[0].compatible, null);
    const text = await runCli(variant, ["status", "--proxy", newer.addr], { env: { ...h.env, ...standin.env } });
    assert.match(text.stdout, /prod .* wants 17\.5\.1: no tsh installed for it/);
    assert.ok(!/NOT compatible/.test(text.stdout));
  });
});
