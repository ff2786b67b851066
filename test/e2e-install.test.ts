import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import tls from "node:tls";
import { gzipSync } from "node:zlib";
import { linux, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, isRunScratch, makeHome, runCli, snapshot } from "./support/cli.js";
import { teleportArchive } from "./support/archives.js";
import { requireTool } from "./support/tools.js";


/** What `tsh version` prints for the tsh a user's PATH would find in bin/. */
function activeTshVersion(root: string): string {
  return execFileSync(path.join(root, "bin", "tsh"), ["version"], { encoding: "utf8" }).trim();
}

/** The parts of the root a failed run must leave exactly as they were. */
async function installedState(root: string) {
  const snap = await snapshot(root);
  return [...snap].filter(([p]) => !isRunScratch(p));
}

for (const variant of cliVariants()) {
  describe(`install end to end (${variant.name})`, () => {
    let standin: Standin;
    let proxy: StandinProxy;

    before(async () => {
      standin = await startStandin();
      proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
      for (const v of ["17.5.1", "17.5.2", "17.4.2", "16.4.3", "18.0.0"]) await standin.addArtifact(linux(v));
    });
    after(async () => standin.close());

    async function freshHome() {
      const h = await makeHome();
      const root = path.join(h.home, ".local", "share", "tshup");
      const env = { ...h.env, ...standin.env };
      const run = (args: string[], extra: Record<string, string> = {}) =>
        runCli(variant, ["--proxy", proxy.addr, "--json", ...args], { env: { ...env, ...extra } });
      return { ...h, root, env, run };
    }

    test("first install, idempotent rerun, upgrade, use, status and list", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);

      const first = await h.run([]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.json.ok, true);
      assert.equal(first.json.changed, true);
      assert.equal(first.json.version, "17.5.1");
      assert.equal(first.json.previous, null);
      assert.equal(first.json.error, null);
      assert.deepEqual(first.json.clusters, [
        { proxy: proxy.addr, cluster: "example", server_version: "17.5.1", min_client_version: "16.0.0-aa", target: "17.5.1", compatible: true },
      ]);
      assert.equal(first.json.paths.tsh, path.join(h.root, "bin", "tsh"));
      assert.ok(first.json.steps.some((s: any) => s.step === "download" && s.status === "done"));
      assert.match(activeTshVersion(h.root), /^Teleport v17\.5\.1 git:/);
      const tsh = fs.statSync(path.join(h.root, "versions", "17.5.1", "tsh"));
      assert.equal(tsh.mode & 0o777, 0o755);
      assert.ok(fs.existsSync(path.join(h.root, "state.json")));
      assert.ok(!fs.existsSync(path.join(h.root, "versions", "17.5.1", "tctl")), "only tsh is extracted by default");
      for (const work of [".staging", "downloads"]) assert.ok(!fs.existsSync(path.join(h.root, work)), `${work} is not left behind once empty`);

      standin.clearRequests();
      const before = await snapshot(h.home);
      const again = await h.run([]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.json.changed, false);
      assert.deepEqual(again.json.steps.filter((s: any) => s.status === "done"), []);
      assert.equal(standin.requests.filter((r) => r.server === "cdn").length, 0, "a no-op run downloads nothing");
      const mine = (m: Map<string, string>) => [...m].filter(([p]) => !isRunScratch(p));
      assert.deepEqual(mine(await snapshot(h.home)), mine(before), "a no-op run changes no file but its last-run record");

      const statusOk = await h.run([], {}).then(() => runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env }));
      assert.equal(statusOk.code, 0, statusOk.stderr);
      assert.equal(statusOk.json.action, "none");

      proxy.update({ serverVersion: "17.5.2" });
      const pending = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
      assert.equal(pending.code, 3);
      assert.equal(pending.json.action, "upgrade");
      assert.deepEqual(pending.json.installed, ["17.5.1"]);

      const up = await h.run([]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.json.version, "17.5.2");
      assert.equal(up.json.previous, "17.5.1");
      assert.match(activeTshVersion(h.root), /v17\.5\.2 /);

      const unswitched = await snapshot(h.root);
      const wouldSwitch = await runCli(variant, ["use", "17.5.1", "--dry-run", "--json"], { env: h.env });
      assert.equal(wouldSwitch.code, 3, `use --dry-run exits 3 when it would switch: ${wouldSwitch.stderr}`);
      assert.equal(wouldSwitch.json.would_change, true);
      assert.equal(wouldSwitch.json.changed, false);
      assert.equal(wouldSwitch.json.version, "17.5.2", "the active version after a dry run is the one before it");
      assert.match(activeTshVersion(h.root), /v17\.5\.2 /);
      assert.deepEqual(await snapshot(h.root), unswitched, "use --dry-run changes no file");
      const dryText = await runCli(variant, ["use", "17.5.1", "--dry-run"], { env: h.env });
      assert.equal(dryText.code, 3);
      assert.equal(dryText.stdout, "make tsh 17.5.1 the active tsh (now 17.5.2)\nkeep tsh 17.5.1 on later runs (a pin; tshup --version V lifts it)\n(dry run: nothing was changed)\n");

      const use = await runCli(variant, ["use", "17.5.1", "--json"], { env: h.env });
      assert.equal(use.code, 0, use.stderr);
      assert.equal(use.json.version, "17.5.1");
      assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
      const alreadyActive = await runCli(variant, ["use", "17.5.1", "--dry-run", "--json"], { env: h.env });
      assert.equal(alreadyActive.code, 0, alreadyActive.stderr);
      assert.equal(alreadyActive.json.would_change, false);
      const list = await runCli(variant, ["list"], { env: h.env });
      assert.equal(list.code, 0);
      assert.deepEqual(list.stdout.trimEnd().split("\n"), ["  17.5.2", "* 17.5.1"]);
      const useMissing = await runCli(variant, ["use", "15.0.0", "--json"], { env: h.env });
      assert.equal(useMissing.code, 2);
      assert.match(useMissing.json.error.message, /15\.0\.0 is not installed/);

      // `use` pins: the next routine run keeps 17.5.1 and says so, until --version asks for another.
      const pinnedStatus = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
      assert.equal(pinnedStatus.code, 0, pinnedStatus.stderr);
      assert.equal(pinnedStatus.json.settings.pin, "17.5.1");
      const pinnedText = await runCli(variant, ["status", "--proxy", proxy.addr], { env: h.env });
      assert.match(pinnedText.stdout, /remembered: .*tsh 17\.5\.1 pinned by tshup use/);
      const routine = await h.run([]);
      assert.equal(routine.code, 0, routine.stderr);
      assert.equal(routine.json.changed, false, JSON.stringify(routine.json.steps));
      assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
      const lifted = await h.run(["--version", "17.5.2"]);
      assert.equal(lifted.code, 0, lifted.stderr);
      assert.match(activeTshVersion(h.root), /v17\.5\.2 /);
      const afterLift = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
      assert.equal(afterLift.json.settings.pin, undefined, "--version lifted the pin");
    });

    test("use before anything is installed is exit 2 saying so, and creates nothing", async (t) => {
      const h = await freshHome();
      t.after(h.cleanup);
      const before = await snapshot(h.home);
      const r = await runCli(variant, ["use", "17.5.1", "--json"], { env: h.env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.json.error.message, /nothing is installed in .*tshup, so there is no tsh 17\.5\.1 to use/);
      assert.match(r.json.error.hint, /tshup --proxy <your proxy> --version 17\.5\.1/);
      assert.deepEqual(await snapshot(h.home), before);
    });

    test("a routine rerun keeps what the user chose: tools, Teleport user and login", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const first = await h.run(["--tools", "tsh,tctl", "--user", "alice", "--login", "bob"]);
      assert.equal(first.code, 0, first.stderr);
      proxy.update({ serverVersion: "17.5.2" });
      t.after(() => proxy.update({ serverVersion: "17.5.1" }));
      const routine = await h.run([]);
      assert.equal(routine.code, 0, routine.stderr);
      assert.ok(fs.existsSync(path.join(h.root, "versions", "17.5.2", "tctl")), "tctl is still installed after an upgrade without --tools");
      assert.ok(fs.existsSync(path.join(h.root, "bin", "tctl")));
      const conf = fs.readFileSync(path.join(h.home, ".ssh", "tshup", "example.conf"), "utf8");
      assert.match(conf, /User bob/);
      assert.match(conf, /keys\/127\.0\.0\.1\/alice/);
      const status = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
      assert.deepEqual(status.json.settings, { tools: ["tsh", "tctl"], user: "alice", login: "bob" });
      // A dry run that would change a remembered choice says so (exit 3), and changes nothing.
      const dry = await h.run(["--tools", "tsh", "--dry-run"]);
      assert.equal(dry.code, 3);
      assert.ok(dry.json.steps.some((s: any) => /remember the choice: tools tsh$/.test(s.detail)), JSON.stringify(dry.json.steps));
    });

    test("a cluster moved back to an older version: status says downgrade, the install follows it", async (t) => {
      proxy.update({ serverVersion: "17.5.2" });
      t.after(() => proxy.update({ serverVersion: "17.5.1" }));
      const h = await freshHome();
      t.after(h.cleanup);
      assert.equal((await h.run([])).code, 0);
      proxy.update({ serverVersion: "17.5.1" });
      const status = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
      assert.equal(status.code, 3);
      assert.equal(status.json.action, "downgrade");
      assert.equal(status.json.target, "17.5.1");
      assert.equal((await h.run([])).code, 0);
      assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
    });

    test("status shows how the last install ended: time, result, version", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      assert.equal((await h.run([])).code, 0);
      const ok = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
      assert.equal(ok.json.last_run.ok, true);
      assert.equal(ok.json.last_run.version, "17.5.1");
      assert.ok(Math.abs(Date.parse(ok.json.last_run.at) - Date.now()) < 60_000, ok.json.last_run.at);
      // A timer run that fails (the proxy unreachable) is recorded too, and status says so.
      const failed = await runCli(variant, ["--proxy", "127.0.0.1:1", "--json", "--timeout", "1"], { env: h.env });
      assert.equal(failed.code, 4);
      const text = await runCli(variant, ["status", "--proxy", proxy.addr], { env: h.env });
      assert.match(text.stdout, /^last run: \S+ install: failed with exit 4: /m);
      const dry = await h.run(["--dry-run"]);
      assert.equal(dry.code, 0);
      const still = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
      assert.equal(still.json.last_run.exit_code, 4, "a dry run is not an install run");
    });

    test("bin/tctl follows --tools as it widens and narrows on the same version, and the plan says so", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const tctl = path.join(h.root, "bin", "tctl");
      const linkedToTctl = () => fs.realpathSync(tctl) === fs.realpathSync(path.join(h.root, "versions", "17.5.1", "tctl"));
      assert.equal((await h.run([])).code, 0);
      assert.ok(!fs.existsSync(tctl));

      const widenDry = await h.run(["--tools", "tsh,tctl", "--dry-run"]);
      assert.equal(widenDry.code, 3);
      assert.ok(widenDry.json.steps.some((s: any) => /^put tctl in \S*\/bin\/tctl$/.test(s.detail)), JSON.stringify(widenDry.json.steps));
      const widened = await h.run(["--tools", "tsh,tctl"]);
      assert.equal(widened.code, 0, widened.stderr);
      assert.ok(linkedToTctl(), "the tctl the run downloaded is in bin/");
      assert.ok(widened.json.steps.some((s: any) => s.step === "tools" && s.status === "done" && /^tctl is in /.test(s.detail)), JSON.stringify(widened.json.steps));

      // An entry that went missing is something to do for status, and the next routine run puts it back.
      await fsp.rm(tctl);
      const status = await runCli(variant, ["status", "--json"], { env: h.env });
      assert.equal(status.code, 3, status.stderr);
      assert.deepEqual(status.json.plan.tools, { link: ["tctl"], remove: [] });
      const statusText = await runCli(variant, ["status"], { env: h.env });
      assert.match(statusText.stdout, /^tools: {3}tctl would be put in bin$/m);
      assert.match(statusText.stdout, /^action: {2}update the tools in bin \(run tshup\)$/m);
      assert.equal((await h.run([])).code, 0);
      assert.ok(linkedToTctl());

      const narrowDry = await h.run(["--tools", "tsh", "--dry-run"]);
      assert.equal(narrowDry.code, 3);
      assert.ok(narrowDry.json.steps.some((s: any) => /^remove \S*\/bin\/tctl \(tctl is no longer asked for\)$/.test(s.detail)), JSON.stringify(narrowDry.json.steps));
      assert.ok(linkedToTctl(), "a dry run changes nothing");
      const narrowed = await h.run(["--tools", "tsh"]);
      assert.equal(narrowed.code, 0, narrowed.stderr);
      assert.ok(!fs.existsSync(tctl), "bin/tctl goes when tctl is no longer asked for");
      assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
      const settled = await runCli(variant, ["status", "--json"], { env: h.env });
      assert.equal(settled.code, 0, settled.stderr);
      assert.deepEqual(settled.json.plan.tools, { link: [], remove: [] });

      // The summary's first line says what changed: only the tool, never a reinstall of tsh.
      const text = (args: string[]) => runCli(variant, ["--proxy", proxy.addr, "--no-modify-path", ...args], { env: h.env });
      const rewidened = await text(["--tools", "tsh,tctl"]);
      assert.equal(rewidened.code, 0, rewidened.stderr);
      assert.match(rewidened.stdout, /^✔ tsh 17\.5\.1 kept; tctl put in bin$/m);
      const renarrowed = await text(["--tools", "tsh"]);
      assert.match(renarrowed.stdout, /^✔ tsh 17\.5\.1 kept; tctl taken out of bin$/m);
      // A tool deleted by hand from its version is missing, whatever the version's record says:
      // status says so, and the next run fetches the version again.
      assert.equal((await text(["--tools", "tsh,tctl"])).code, 0);
      await fsp.rm(path.join(h.root, "versions", "17.5.1", "tctl"));
      const lacking = await runCli(variant, ["status"], { env: h.env });
      assert.equal(lacking.code, 3, lacking.stderr);
      assert.match(lacking.stdout, /^action: {2}install tsh 17\.5\.1 again \(a tool asked for is missing from it\) \(run tshup\)$/m);
      const refetched = await text([]);
      assert.equal(refetched.code, 0, refetched.stderr);
      assert.match(refetched.stdout, /^✔ tsh 17\.5\.1 reinstalled$/m);
      assert.ok(linkedToTctl(), "bin/tctl reaches a file again");
    });

    test("a run that only changes a remembered choice, or adopts an earlier release's root, says so in plan and report", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      assert.equal((await h.run(["--tools", "tsh,tctl"])).code, 0);
      const narrowed = await h.run(["--tools", "tsh"]);
      assert.equal(narrowed.code, 0, narrowed.stderr);
      assert.equal(narrowed.json.changed, true);
      assert.ok(narrowed.json.steps.some((s: any) => s.step === "remember" && s.status === "done" && /tools tsh$/.test(s.detail)), JSON.stringify(narrowed.json.steps));
      // A root as an earlier release left it: no marker. The dry run lists the adoption.
      await fsp.rm(path.join(h.root, ".tshup-root"));
      const dry = await h.run(["--dry-run"]);
      assert.equal(dry.code, 3);
      assert.ok(dry.json.steps.some((s: any) => /mark the root as tshup's/.test(s.detail)));
      const adopted = await h.run([]);
      assert.equal(adopted.code, 0, adopted.stderr);
      assert.ok(fs.existsSync(path.join(h.root, ".tshup-root")));
      assert.equal((await h.run(["--dry-run"])).code, 0);
      // A directory where the marker goes fails the dry run as it would the real one.
      await fsp.rm(path.join(h.root, ".tshup-root"));
      await fsp.mkdir(path.join(h.root, ".tshup-root"));
      for (const args of [["--dry-run"], []]) {
        const r = await h.run(args);
        assert.equal(r.code, 7, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.json.error.message, /\.tshup-root is a directory/);
      }
    });

    test("status shows a hand-edited last-run record and remembered proxies only as plain, short text", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      assert.equal((await h.run([])).code, 0);
      await fsp.writeFile(path.join(h.root, "last-run.json"), JSON.stringify({ at: "2026-12-01T00:00:00Z", command: "install\u001b]0;owned\u0007", ok: false, exit_code: 4, changed: false, version: { toString: 1 }, error: { code: "network", message: `\u001b[2J${"x".repeat(60_000)}` } }));
      const state = JSON.parse(await fsp.readFile(path.join(h.root, "state.json"), "utf8"));
      state.proxies.push("\u001b[2Jevil:443", "y".repeat(100_000));
      await fsp.writeFile(path.join(h.root, "state.json"), JSON.stringify(state));
      for (const cmd of [["status"], ["doctor"]]) {
        const r = await runCli(variant, cmd, { env: h.env });
        assert.ok(r.code === 0 || r.code === 3, `${cmd[0]}: ${r.stderr}`);
        assert.ok(!/\u001b\[2J|\u001b\]0/.test(r.stdout + r.stderr), `${cmd[0]}: no escape sequence reaches the terminal`);
        assert.ok(r.stdout.length + r.stderr.length < 8192, `${cmd[0]}: ${r.stdout.length + r.stderr.length} bytes`);
      }
      const text = await runCli(variant, ["status"], { env: h.env });
      assert.match(text.stdout, /^last run: 2026-12-01T00:00:00\.000Z install\]0;owned: failed with exit 4: \[2Jx+\.\.\./m);
    });

    test("a use pin outside the cluster's window is exit 6 that says how to lift it, from install and status", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      assert.equal((await h.run(["--version", "16.4.3"])).code, 0);
      assert.equal((await h.run([])).code, 0);
      assert.equal((await runCli(variant, ["use", "16.4.3", "--json"], { env: h.env })).code, 0);
      proxy.update({ serverVersion: "18.0.0" });
      t.after(() => proxy.update({ serverVersion: "17.5.1" }));
      const r = await h.run([]);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.json.error.hint, /pinned by tshup use; lift the pin with tshup --version V/);
      assert.match(activeTshVersion(h.root), /v16\.4\.3 /, "the pinned tsh is still the active one");
      // status says the same, and still shows what runs now against the cluster.
      const s = await runCli(variant, ["status", "--json"], { env: h.env });
      assert.equal(s.code, 6, s.stderr);
      assert.equal(s.json.version, "16.4.3");
      assert.deepEqual(s.json.clusters.map((c: any) => [c.server_version, c.compatible]), [["18.0.0", false]]);
      assert.match(s.json.error.hint, /pinned by tshup use/);
      const text = await runCli(variant, ["status"], { env: h.env });
      assert.equal(text.code, 6, text.stderr);
      assert.match(text.stdout, /^active: {2}tsh 16\.4\.3$/m);
      assert.match(text.stdout, /runs 18\.0\.0, wants 18\.0\.0: NOT compatible$/m);
      assert.match(text.stderr, /^tshup: error: tsh 16\.4\.3 is too old for the proxy/m);
    });

    test("--keep prunes old versions but never the active one; --version pins inside the window", async (t) => {
      proxy.update({ serverVersion: "17.5.2" });
      const h = await freshHome();
      t.after(h.cleanup);
      for (const v of ["16.4.3", "17.4.2", "17.5.1"]) {
        const r = await h.run(["--version", v, "--keep", "2"]);
        assert.equal(r.code, 0, r.stderr);
      }
      assert.deepEqual(fs.readdirSync(path.join(h.root, "versions")).sort(), ["17.4.2", "17.5.1"]);
      // --keep 1 with nothing else to do: the dry run lists the pruning, and the real run does just that.
      const before = await snapshot(h.home);
      const dry = await h.run(["--version", "17.5.1", "--keep", "1", "--dry-run"]);
      assert.equal(dry.code, 3, "pruning is a change");
      assert.deepEqual(dry.json.plan.prune, ["17.4.2"]);
      assert.ok(dry.json.steps.some((s: any) => /remove tsh 17\.4\.2 \(beyond --keep\)/.test(s.detail)), JSON.stringify(dry.json.steps));
      assert.deepEqual(await snapshot(h.home), before, "the dry run changed nothing");
      const pruned = await h.run(["--version", "17.5.1", "--keep", "1"]);
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.deepEqual(fs.readdirSync(path.join(h.root, "versions")), ["17.5.1"]);
      const nothing = await h.run(["--version", "17.5.1", "--keep", "1", "--dry-run"]);
      assert.equal(nothing.code, 0, "an empty plan is exit 0");
      const outside = await h.run(["--version", "18.0.0"]);
      assert.equal(outside.code, 6);
      assert.match(outside.json.error.message, /18\.0\.0 is newer than the proxy/);
      assert.match(outside.json.error.hint, /16\.x or 17\.x.*--force/);
      const forced = await h.run(["--version", "18.0.0", "--force", "--keep", "1"]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(fs.readdirSync(path.join(h.root, "versions")), ["18.0.0"]);
    });

    test("a switch made while the proxy answers is seen: the plan rests on the root as it is after the answer", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      assert.equal((await h.run([])).code, 0);
      proxy.update({ serverVersion: "17.5.2" });
      assert.equal((await h.run([])).code, 0);
      assert.match(activeTshVersion(h.root), /v17\.5\.2 /);
      // The answer takes about five seconds; another run switches to 17.5.1 a second in.
      proxy.setFault("/webapi/find", { kind: "slow", bytesPerSecond: 100, times: 1 });
      t.after(() => proxy.clearFaults());
      const slow = h.run([]);
      await new Promise((r) => setTimeout(r, 1000));
      const use = await runCli(variant, ["use", "17.5.1", "--json"], { env: h.env });
      assert.equal(use.code, 0, use.stderr);
      const r = await slow;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.changed, true, "the run saw the switch and undid it");
      assert.match(activeTshVersion(h.root), /v17\.5\.2 /);
    });

    test("--dry-run reports the plan with exit 3 and changes nothing", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const before = await snapshot(h.home);
      const plan = await h.run(["--dry-run"]);
      assert.equal(plan.code, 3, plan.stderr);
      assert.equal(plan.json.would_change, true);
      assert.deepEqual(await snapshot(h.home), before);
      assert.equal((await h.run([])).code, 0);
      const noop = await h.run(["--dry-run"]);
      assert.equal(noop.code, 0, noop.stderr);
    });

    test("each failure is reported with its exit code and leaves the previous tsh working", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      assert.equal((await h.run([])).code, 0);
      const good = await installedState(h.root);
      const profile = await fsp.readFile(path.join(h.home, ".profile"));

      const art = (v: string) => `teleport-v${v}-linux-amd64-bin.tar.gz`;
      const cases: { name: string; setup: () => Promise<void> | void; code: number; message: RegExp; args?: string[] }[] = [
        { name: "wrong checksum", setup: () => standin.setFault(`${art("17.5.2")}.sha256`, { kind: "wrong-hash" }), code: 5, message: /checksum mismatch for teleport-v17\.5\.2/ },
        { name: "artifact 404", setup: () => standin.setFault(art("17.5.2"), { kind: "status", status: 404 }), code: 4, message: /artifact not found: .*17\.5\.2/ },
        { name: "version not published (artifact and sidecar 404)", setup: () => {}, code: 4, message: /artifact not found: .*teleport-v17\.5\.3-linux-amd64-bin\.tar\.gz/, args: ["--version", "17.5.3"] },
        { name: "no sidecar", setup: () => standin.setFault(`${art("17.5.2")}.sha256`, { kind: "no-sidecar" }), code: 5, message: /no checksum published/ },
        { name: "403 is not retried", setup: () => standin.setFault(art("17.5.2"), { kind: "status", status: 403 }), code: 4, message: /HTTP 403/ },
        { name: "truncated every time", setup: () => standin.setFault(art("17.5.2"), { kind: "truncate", bytes: 100 }), code: 4, message: /cut off/ },
        ...(["absolute", "dotdot", "tsh-symlink", "tsh-hardlink", "missing-tsh", "corrupt-gzip", "corrupt-midway"] as const).map((kind) => ({
          name: `unsafe archive: ${kind}`,
          setup: async () => {
            await standin.addUnsafeArtifact(kind, linux("17.5.2"));
          },
          code: 5,
          message: kind === "missing-tsh" ? /holds no tsh/ : kind.startsWith("corrupt") ? /not a valid \.tar\.gz/ : /is unsafe/,
        })),
        {
          // node-tar alone would copy what follows the end again for every chunk: minutes, and all of it in memory.
          name: "a gzip of zeros (the tar ends at once, 64 MiB follow)",
          setup: () => void standin.setArtifact(art("17.5.2"), gzipSync(Buffer.alloc(64 * 1024 * 1024))),
          code: 5,
          message: /not a valid \.tar\.gz: more than 1 MiB follow the end of the tar archive/,
        },
        { name: "proxy answers HTML", setup: () => proxy.setPing("<html><body>Sign in</body></html>", 200, "both"), code: 4, message: /not a Teleport proxy: it answered an HTML page/ },
        { name: "proxy answers an error", setup: () => proxy.setPing({ error: { message: "access denied" } }, 403, "both"), code: 4, message: /HTTP 403: access denied/ },
        { name: "proxy answers a bad version", setup: () => proxy.setPing({ server_version: "17.5.2; rm -rf /" }, 200, "both"), code: 4, message: /server_version .* is not a version/ },
        { name: "proxy fails with 500 every time", setup: () => proxy.setFault("/webapi/find", { kind: "status", status: 500 }), code: 4, message: /HTTP 500/ },
        { name: "proxy hangs", setup: () => proxy.setFault("/webapi/find", { kind: "hang" }), code: 4, message: /timed out/, args: ["--timeout", "1"] },
        { name: "proxy redirects in circles", setup: () => proxy.setFault("/webapi/find", { kind: "redirect", to: "/webapi/find" }), code: 4, message: /redirected more than 10 times/ },
        {
          name: "CDN redirects from https to plain http",
          setup: () => standin.setFault(art("17.5.2"), { kind: "redirect", to: `${standin.cdnHttpUrl}/${art("17.5.2")}` }),
          code: 4,
          message: /redirected to plain http \(http:\/\/127\.0\.0\.1:\d+\/teleport-v17\.5\.2/,
        },
        { name: "unknown flag", setup: () => {}, code: 2, message: /^unknown flag --frobnicate for tshup install$/, args: ["--frobnicate"] },
      ];
      for (const c of cases) {
        await t.test(c.name, async () => {
          proxy.update({ serverVersion: "17.5.2" });
          await c.setup();
          try {
            const r = await h.run(c.args ?? []);
            assert.equal(r.code, c.code, `${c.name}: ${r.stderr}`);
            assert.equal(r.json.ok, false);
            assert.equal(r.json.command, "install");
            assert.match(r.json.error.message, c.message);
            assert.ok(r.json.error.hint.length > 0, "every error carries a hint");
            assert.match(r.stderr, /^tshup: error: .+\n  hint: .+\n/m);
            assert.deepEqual(await installedState(h.root), good, "the installation is unchanged");
            assert.ok(!fs.existsSync(path.join(h.root, ".staging")), "nothing is left staged, not even the work directory");
            assert.deepEqual(await fsp.readFile(path.join(h.home, ".profile")), profile);
            assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
          } finally {
            standin.clearFaults();
            proxy.clearFaults();
            proxy.setPing(null);
            await standin.addArtifact(linux("17.5.2"));
          }
        });
      }
    });

    test("bytes that break the archive are not kept for a resume, and a poisoned partial file is fetched afresh", async (t) => {
      proxy.update({ serverVersion: "17.5.2" });
      const h = await freshHome();
      t.after(h.cleanup);
      t.after(() => standin.addArtifact(linux("17.5.2")));
      // Big enough that the inflate fails while bytes are still coming in, not at the end.
      const { name, data } = await teleportArchive({ ...linux("17.5.2"), padding: 3 * 1024 * 1024, gzipLevel: 0 });
      const good = standin.setArtifact(name, data);
      const bad = Buffer.from(data);
      bad.fill(0xff, 100, 4196);
      const partial = path.join(h.root, "downloads", `${name}.partial`);

      // The CDN serves broken bytes under the good checksum: exit 5, and no partial file is left.
      standin.setArtifact(name, bad, `${good.sha256}  ${name}\n`);
      const broken = await h.run([]);
      assert.equal(broken.code, 5, broken.stderr);
      assert.match(broken.json.error.message, /not a valid \.tar\.gz/);
      assert.equal(fs.existsSync(partial), false, "the broken bytes were not kept");

      // A partial file from an earlier run holds broken bytes: the run starts over from zero once.
      standin.setArtifact(name, data);
      fs.mkdirSync(path.dirname(partial), { recursive: true });
      fs.writeFileSync(partial, bad.subarray(0, 2 * 1024 * 1024));
      fs.writeFileSync(`${partial}.json`, JSON.stringify({ url: good.url, sha256: good.sha256 }));
      const fresh = await h.run([]);
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.match(activeTshVersion(h.root), /v17\.5\.2 /);
      assert.equal(fs.existsSync(partial), false);
    });

    test("retries: 503 then success, Retry-After, a connection cut once", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const name = "teleport-v17.5.1-linux-amd64-bin.tar.gz";
      standin.addFault(name, { kind: "status", status: 503, times: 2 });
      standin.addFault(name, { kind: "truncate", bytes: 1000, times: 1 });
      standin.setFault("/webapi/find", { kind: "retry-after", status: 429, seconds: 1, times: 1 });
      proxy.setFault("/webapi/find", { kind: "status", status: 502, times: 1 });
      standin.clearRequests();
      try {
        const r = await h.run([]);
        assert.equal(r.code, 0, r.stderr);
        const gets = standin.requests.filter((q) => q.server === "cdn" && q.path === `/${name}`);
        assert.equal(gets.length, 4, "two 503s, one cut, one resumed");
        assert.equal(gets[3]!.headers.range, "bytes=1000-", "the cut download resumes with Range");
      } finally {
        standin.clearFaults();
        proxy.clearFaults();
      }
    });

    test("each retry says so in one line on stderr, with its delay and reason, from the one retry loop", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const name = "teleport-v17.5.1-linux-amd64-bin.tar.gz";
      const faults = () => {
        proxy.setFault("/webapi/find", { kind: "status", status: 503, times: 1 });
        standin.setFault(`${name}.sha256`, { kind: "status", status: 502, times: 1 });
        standin.setFault(name, { kind: "retry-after", status: 503, seconds: 1, times: 1 });
        standin.addFault(name, { kind: "truncate", bytes: 1000, times: 1 });
      };
      t.after(() => {
        standin.clearFaults();
        proxy.clearFaults();
      });
      const retryLines = (stderr: string) => stderr.split("\n").filter((l) => /retrying/.test(l));
      for (const [flags, expect] of [
        [[], "human"],
        [["--json"], "human"],
        [["--quiet"], "none"],
      ] as const) {
        const h = await makeHome();
        t.after(h.cleanup);
        faults();
        const r = await runCli(variant, ["--proxy", proxy.addr, "--yes", ...flags], { env: { ...h.env, ...standin.env } });
        assert.equal(r.code, 0, r.stderr);
        if (flags.includes("--json" as never)) assert.equal(r.json.ok, true, "stdout is the JSON document alone");
        const lines = retryLines(r.stderr);
        if (expect === "none") {
          assert.deepEqual(lines, [], "--quiet: no retry lines");
          continue;
        }
        assert.equal(lines.length, 4, `${flags.join(" ")}: one line per retry:\n${r.stderr}`);
        assert.match(lines[0]!, /^retrying in 0\.\d s \(HTTP 503\)$/, "the proxy's answer");
        assert.match(lines[1]!, /^retrying in 0\.\d s \(HTTP 502\)$/, "the sidecar");
        assert.equal(lines[2], "retrying in 1 s (HTTP 503)", "the archive, after the server's Retry-After");
        assert.match(lines[3]!, /^retrying in 0\.\d s \(connection (cut|closed early|reset)\)$/, "the archive, cut off");
        assert.ok(!r.stdout.includes("retrying"), "human text stays off stdout");
      }
    });

    test("--verbose shows each URL fetched, each retry, the hashes compared and what vouched for them, and each step's time", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const name = "teleport-v17.5.1-linux-amd64-bin.tar.gz";
      const art = await standin.addArtifact(linux("17.5.1"));
      standin.setFault(name, { kind: "status", status: 503, times: 1 });
      t.after(() => standin.clearFaults());
      const r = await runCli(variant, ["--proxy", proxy.addr, "--yes", "--verbose"], { env: h.env });
      assert.equal(r.code, 0, r.stderr);
      const e = r.stderr;
      const cdn = standin.cdnUrl.replace(/\./g, "\\.");
      assert.match(e, new RegExp(`^GET ${proxy.url.replace(/\./g, "\\.")}/webapi/find: HTTP 200 \\(\\d+ ms\\)$`, "m"));
      assert.match(e, new RegExp(`^GET ${cdn}/${name}\\.sha256: HTTP 200 \\(\\d+ ms\\)$`, "m"));
      assert.match(e, new RegExp(`^GET ${cdn}/${name}: HTTP 503 \\(\\d+ ms\\)\nretrying ${cdn}/${name} in 0\\.\\d s \\(HTTP 503; attempt 2 of 5\\): .*HTTP 503\nGET ${cdn}/${name}: HTTP 200`, "m"));
      assert.match(e, new RegExp(`^sha256 of ${name}: expected ${art.sha256} \\(from the sidecar ${cdn}/${name}\\.sha256; signature: missing\\), actual ${art.sha256}: match$`, "m"));
      for (const step of ["proxy", "lock", "download", "activate", "path", "config", "state"]) assert.match(e, new RegExp(`^step ${step}: \\d+ ms$`, "m"), step);
      const quiet = await runCli(variant, ["--proxy", proxy.addr, "--yes"], { env: h.env });
      assert.doesNotMatch(quiet.stderr, /^(GET|step|sha256) /m, "none of it without --verbose");
    });

    test("a download that falls silent is given up after --timeout and resumed where it stopped", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const name = "teleport-v17.5.1-linux-amd64-bin.tar.gz";
      standin.setFault(name, { kind: "stall", bytes: 1000, times: 1 });
      standin.clearRequests();
      try {
        const r = await h.run(["--timeout", "1"]);
        assert.equal(r.code, 0, r.stderr);
        const gets = standin.requests.filter((q) => q.server === "cdn" && q.path === `/${name}`);
        assert.deepEqual(
          gets.map((q) => [q.status, q.fault ?? null, q.headers.range ?? null]),
          [
            [200, "stall", null],
            [206, null, "bytes=1000-"],
          ],
        );
        assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
      } finally {
        standin.clearFaults();
      }
    });

    test("redirects are followed (relative and absolute), and a compressed proxy answer is read", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const name = "teleport-v17.5.1-linux-amd64-bin.tar.gz";
      standin.setFault(name, { kind: "redirect", to: `/${name}?via=302`, times: 1 });
      standin.setFault(`${name}.sha256`, { kind: "redirect", status: 308, to: `${standin.cdnUrl}/${name}.sha256?via=308`, times: 1 });
      proxy.setFault("/webapi/find", { kind: "gzip", times: 1 });
      standin.clearRequests();
      try {
        const r = await h.run([]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.json.version, "17.5.1");
        assert.doesNotMatch(r.stderr, /\(node:\d+\)|Warning:/, "Node printed a warning of its own while decompressing");
        const seen = standin.requests.filter((q) => q.server === "cdn" || q.path === "/webapi/find").map((q) => [q.url, q.status, q.fault ?? null]);
        assert.deepEqual(seen, [
          ["/webapi/find", 200, "gzip"],
          [`/${name}.sha256`, 308, "redirect"],
          [`/${name}.sha256?via=308`, 200, null],
          // No .sig on this stand-in: a warning, then the archive.
          [`/${name}.sig`, 404, null],
          [`/${name}`, 302, "redirect"],
          [`/${name}?via=302`, 200, null],
        ]);
        assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
      } finally {
        standin.clearFaults();
        proxy.clearFaults();
      }
    });

    test("TLS: the proxy must verify; --insecure is for the proxy only", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const noCA = { ...h.env, NODE_EXTRA_CA_CERTS: "" };
      const untrusted = await runCli(variant, ["--proxy", proxy.addr, "--json"], { env: noCA });
      assert.equal(untrusted.code, 4);
      assert.match(untrusted.json.error.message, /TLS verification failed for https:\/\/127\.0\.0\.1/);
      assert.match(untrusted.json.error.hint, /--ca-file/);
      const insecure = await runCli(variant, ["--proxy", proxy.addr, "--json", "--insecure"], { env: noCA });
      assert.equal(insecure.code, 4, "the CDN is still verified");
      assert.match(insecure.json.error.message, /TLS verification failed for https:\/\/127\.0\.0\.1:\d+\/teleport-v17\.5\.1/);
      const caFile = await runCli(variant, ["--proxy", proxy.addr, "--json", "--ca-file", standin.caFile], { env: noCA });
      assert.equal(caFile.code, 0, caFile.stderr);
    });

    test("--ca-file adds to NODE_EXTRA_CA_CERTS rather than replacing it", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      // Any CA but the stand-in's: one of the bundled roots.
      const unrelated = path.join(h.home, "unrelated.pem");
      fs.writeFileSync(unrelated, tls.rootCertificates[0]!);
      const r = await runCli(variant, ["--proxy", proxy.addr, "--json", "--ca-file", unrelated], { env: { ...h.env, ...standin.env } });
      assert.equal(r.code, 0, r.stderr);
      const onlyUnrelated = await runCli(variant, ["status", "--proxy", proxy.addr, "--json", "--ca-file", unrelated], { env: { ...h.env, NODE_EXTRA_CA_CERTS: "" } });
      assert.equal(onlyUnrelated.code, 4, "and the stand-in's CA is what made the difference");
    });

    if (variant.name === "tshup-linux-x64") {
      // The executables embed Node 22, which reads the system store: OpenSSL's on Linux.
      test("a CA in the operating system's store is trusted with no flag", async (t) => {
        proxy.update({ serverVersion: "17.5.1" });
        const h = await freshHome();
        t.after(h.cleanup);
        const r = await runCli(variant, ["--proxy", proxy.addr, "--json"], { env: { ...h.env, ...standin.env, NODE_EXTRA_CA_CERTS: "", SSL_CERT_FILE: standin.caFile, SSL_CERT_DIR: path.join(h.home, "none") } });
        assert.equal(r.code, 0, r.stderr);
        const without = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: { ...h.env, NODE_EXTRA_CA_CERTS: "", SSL_CERT_FILE: path.join(h.home, "none"), SSL_CERT_DIR: path.join(h.home, "none") } });
        assert.equal(without.code, 4, "and without it the same proxy is refused");
      });
    }

    test("six parallel installs agree", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const runs = await Promise.all(Array.from({ length: 6 }, () => h.run([])));
      for (const r of runs) {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.json.version, "17.5.1");
      }
      assert.equal(runs.filter((r) => r.json.steps.some((s: any) => s.step === "download" && s.status === "done")).length, 1, "exactly one downloads");
      assert.match(activeTshVersion(h.root), /v17\.5\.1 /);
      assert.deepEqual(fs.readdirSync(path.join(h.root, "versions")), ["17.5.1"]);
      assert.ok(!fs.existsSync(path.join(h.root, ".lock")));
    });

    test("real shells started after an install find tsh in the bin dir, once and first", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const shells = { dash: requireTool("dash", "dash"), bash: requireTool("bash", "bash"), zsh: requireTool("zsh", "zsh"), fish: requireTool("fish", "fish") };
      const h = await freshHome();
      t.after(h.cleanup);
      await fsp.writeFile(path.join(h.home, ".bashrc"), "# user's bashrc without a final newline\nalias ll='ls -l'");
      const r = await runCli(variant, ["--proxy", proxy.addr, "--json"], { env: { ...h.env, SHELL: shells.zsh } });
      assert.equal(r.code, 0, r.stderr);
      const bin = path.join(h.root, "bin");
      const env = { HOME: h.home, PATH: "/usr/local/bin:/usr/bin:/bin", TERM: "dumb" };
      const probe = 'printf "%s\\n%s\\n" "$(command -v tsh)" "$PATH"';
      const runs: [string, string[]][] = [
        ["sh -l (dash)", [shells.dash, "-l", "-c", probe]],
        ["bash -l", [shells.bash, "-l", "-c", probe]],
        ["bash -i", [shells.bash, "-i", "-c", probe]],
        ["zsh -i", [shells.zsh, "-i", "-c", probe]],
        ["zsh -l", [shells.zsh, "-l", "-c", probe]],
        ["fish -l", [shells.fish, "-l", "-c", 'printf "%s\\n%s\\n" (command -v tsh) (string join : $PATH)']],
      ];
      for (const [name, [cmd, ...args]] of runs) {
        const out = execFileSync(cmd!, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n");
        assert.equal(out[0], path.join(bin, "tsh"), `${name} resolves tsh`);
        const entries = out[1]!.split(":");
        assert.equal(entries[0], bin, `${name}: bin dir first`);
        assert.equal(entries.filter((e) => e === bin).length, 1, `${name}: bin dir once`);
      }
    });

    test("a root given by --prefix is found again: new shells carry TSHUP_HOME, and tshup there needs no flag", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const shells = { dash: requireTool("dash", "dash"), bash: requireTool("bash", "bash"), zsh: requireTool("zsh", "zsh"), fish: requireTool("fish", "fish") };
      const h = await freshHome();
      t.after(h.cleanup);
      const custom = path.join(h.home, "tools", "tshup");
      const r = await runCli(variant, ["--proxy", proxy.addr, "--prefix", custom, "--json"], { env: { ...h.env, SHELL: shells.zsh } });
      assert.equal(r.code, 0, r.stderr);
      const env = { HOME: h.home, PATH: "/usr/local/bin:/usr/bin:/bin", TERM: "dumb" };
      for (const [name, [cmd, ...args]] of [
        ["dash -l", [shells.dash, "-l", "-c", 'printf "%s" "$TSHUP_HOME"']],
        ["bash -l", [shells.bash, "-l", "-c", 'printf "%s" "$TSHUP_HOME"']],
        ["zsh -l", [shells.zsh, "-l", "-c", 'printf "%s" "$TSHUP_HOME"']],
        ["fish -l", [shells.fish, "-l", "-c", 'printf "%s" $TSHUP_HOME']],
      ] as const) {
        assert.equal(execFileSync(cmd, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }), custom, `${name} names the root`);
      }
      // What such a shell runs: tshup with that environment finds the install without --prefix,
      // and a run from it keeps the export (it does not mistake TSHUP_HOME for the default).
      const status = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: { ...h.env, TSHUP_HOME: custom } });
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.json.version, "17.5.1");
      const fromShell = await runCli(variant, ["--proxy", proxy.addr, "--json"], { env: { ...h.env, TSHUP_HOME: custom } });
      assert.equal(fromShell.code, 0, fromShell.stderr);
      assert.equal(fromShell.json.changed, false, JSON.stringify(fromShell.json.steps));
      assert.match(fs.readFileSync(path.join(custom, "env"), "utf8"), /^TSHUP_HOME=/m);
      // The default root exports nothing: the env script stays as it always was.
      const plain = await freshHome();
      t.after(plain.cleanup);
      assert.equal((await plain.run([])).code, 0);
      assert.ok(!fs.readFileSync(path.join(plain.root, "env"), "utf8").includes("TSHUP_HOME"));
    });

    test("--quiet says nothing but errors, run after run; the warnings stay in the --json report", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      // No Teleport user is known, so ssh config cannot be seeded: a warning on every run, which
      // cron would mail every day.
      for (const run of ["first", "second"]) {
        const r = await runCli(variant, ["--proxy", proxy.addr, "--yes", "--quiet"], { env: h.env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "", `${run} run: nothing on stderr`);
        assert.equal(r.stdout, "", `${run} run: nothing on stdout`);
      }
      const j = await h.run(["--quiet", "--yes"]);
      assert.equal(j.code, 0, j.stderr);
      assert.equal(j.stderr, "");
      assert.ok(j.json.warnings.some((w: string) => /no Teleport user known for 127\.0\.0\.1:\d+/.test(w)), JSON.stringify(j.json.warnings));
      const failed = await runCli(variant, ["--proxy", proxy.addr, "--yes", "--quiet", "--version", "99.0.0"], { env: h.env });
      assert.equal(failed.code, 6);
      assert.match(failed.stderr, /^tshup: error: .*99\.0\.0/m, "an error still speaks");
    });

    test("human output: summary, next steps, --no-modify-path instructions", async (t) => {
      proxy.update({ serverVersion: "17.5.1" });
      const h = await freshHome();
      t.after(h.cleanup);
      const r = await runCli(variant, ["--proxy", proxy.addr, "--no-modify-path"], { env: h.env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /tsh 17\.5\.1 installed/);
      assert.match(r.stdout, /PATH: left alone/);
      assert.ok(r.stdout.includes(path.join(h.root, "bin")), r.stdout);
      assert.match(r.stdout, /^Next:\n {2}tsh login\n/m, "tsh's profile, seeded for this proxy, makes --proxy unneeded");
      assert.ok(!r.stderr.includes("\x1b["), "no escape codes when not a TTY");
      assert.ok(!fs.existsSync(path.join(h.home, ".profile")), "--no-modify-path touches no rc file");
      const unseeded = await freshHome();
      t.after(unseeded.cleanup);
      const bare = await runCli(variant, ["--proxy", proxy.addr, "--no-config", "--user", "alice"], { env: unseeded.env });
      assert.equal(bare.code, 0, bare.stderr);
      assert.match(bare.stdout, new RegExp(`^ {2}tsh login --proxy=${proxy.addr.replace(/\./g, "\\.")} --user=alice$`, "m"), "--no-config seeds no profile");
    });
  });
}
