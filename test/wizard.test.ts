import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { freePort, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, makeHome, runCli, snapshot } from "./support/cli.js";
import { Terminal } from "./support/terminal.js";
import { BINARY, binarySkip } from "./support/self.js";

describe("the first-run wizard in a real terminal", () => {
  let standin: Standin;
  let proxy: StandinProxy;
  let second: StandinProxy;
  before(async () => {
    standin = await startStandin();
    proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
    second = await standin.addProxy({ cluster: "second", serverVersion: "17.5.1" });
    await standin.addArtifact({ version: "17.5.1", os: "linux", arch: "amd64", edition: "community" });
  });
  after(async () => standin.close());

  async function session(t: { after: (fn: () => unknown) => void }, args: string[] = []) {
    const h = await makeHome();
    t.after(h.cleanup);
    const term = new Terminal("w");
    t.after(() => term.close());
    const env = { ...h.env, ...standin.env, TERM: "xterm-256color" };
    const before = await snapshot(h.home);
    await term.start(args, env);
    return { h, term, before };
  }

  /** The rest of a first run once the proxy is given: the user name, Proceed, and a finished install. */
  async function asUserAndProceed(term: Terminal): Promise<void> {
    await term.waitFor(/Teleport user name/);
    await term.type("alice");
    await term.keys("Enter");
    await term.waitFor(/Go ahead\?/);
    await term.keys("Enter");
    const done = await term.waitFor(/EXIT=\d+/);
    assert.match(done, /EXIT=0/);
    assert.match(done, /tsh 17\.5\.1 installed/);
  }

  test("asks only what is missing, shows the plan, and the answers flow into the result", async (t) => {
    const { h, term } = await session(t);
    await term.waitFor(/Teleport proxy/);
    await term.type(proxy.addr);
    await term.keys("Enter");
    await term.waitFor(/Teleport user name/);
    await term.type("alice");
    await term.keys("Enter");
    const plan = await term.waitFor(/Go ahead\?/);
    assert.match(plan, /install tsh 17\.5\.1/);
    assert.match(plan, /put ~\/\.local\/share\/tshup\/bin on PATH: .*~\/\.profile \(created\)/);
    assert.match(plan, /create ~\/\.ssh\/config/);
    assert.doesNotMatch(plan, /SSH login/, "without a manifest asking for it, the login is not asked");
    await term.keys("Enter");
    const done = await term.waitFor(/EXIT=\d+/);
    assert.match(done, /EXIT=0/);
    assert.match(done, /^Next:\n {2}tsh login\n/m, "the profile seeded for alice makes --proxy and --user unneeded");
    assert.match(done, /ssh node\.example/);
    assert.match(done, /ssh: {2}~\/\.ssh\/tshup\/example\.conf \(created\), ~\/\.ssh\/config \(created\)/);
    const conf = fs.readdirSync(path.join(h.home, ".ssh", "tshup")).map((f) => fs.readFileSync(path.join(h.home, ".ssh", "tshup", f), "utf8")).join("");
    assert.match(conf, /keys\/127\.0\.0\.1\/alice/);
    assert.ok(fs.existsSync(path.join(h.home, ".local", "share", "tshup", "bin", "tsh")));
  });

  test("the header names the site the manifest describes", async (t) => {
    const manifest = path.join(standin.dir, "site.yaml");
    fs.writeFileSync(manifest, `name: Example Org\nclusters:\n  - proxy: ${proxy.addr}\n`);
    const { term } = await session(t, ["--manifest", manifest]);
    const s = await term.waitFor(/Teleport user name/);
    assert.match(s, /^tshup sets up Teleport's tsh for Example Org\n\n.*Teleport user name/m);
    await term.keys("C-c");
    assert.match(await term.waitFor(/EXIT=\d+/), /EXIT=130/);
  });

  test("a proxy that cannot be reached is said, and asked again with the answer kept to edit", async (t) => {
    const { term } = await session(t);
    const nowhere = `127.0.0.1:${await freePort()}`;
    await term.waitFor(/Teleport proxy/);
    await term.type(nowhere);
    await term.keys("Enter");
    // The question comes back in two frames: with the last answer as its default, then with that
    // answer put on the line to edit. Wait for the second.
    const ready = new RegExp(`Check the address and try again[\\s\\S]*Teleport proxy[^\\n]*\\) ${nowhere.replace(/\./g, "\\.")}\\s*$`);
    const s = await term.waitFor(ready, 60_000);
    assert.match(s, new RegExp(`could not reach https://${nowhere.replace(/\./g, "\\.")}/webapi/find: connect ECONNREFUSED`));
    assert.match(s, /Check the address and try again \(2 more tries\), or press Ctrl-C to stop\./);
    assert.match(s.slice(s.lastIndexOf("Teleport proxy")), new RegExp(`teleport\\.example\\.com\\) ${nowhere.replace(/\./g, "\\.")}\\s*$`), "the last answer stands ready to edit");
    assert.doesNotMatch(s, /\S(retrying in)/, "each retry line starts a line of its own, not after the spinner");
    await term.keys("C-u");
    await term.type(proxy.addr);
    await term.keys("Enter");
    await asUserAndProceed(term);
  });

  test("a proxy that does not answer like one is asked again, three times at most, then exit 4", async (t) => {
    const html = await standin.addProxy({ cluster: "portal", serverVersion: "17.5.1" });
    html.setPing("<html><body>Sign in</body></html>", 200, "both");
    t.after(() => html.close());
    const { h, term, before } = await session(t);
    await term.waitFor(/Teleport proxy/);
    await term.type(html.addr);
    for (const left of ["2 more tries", "1 more try"]) {
      await term.keys("Enter");
      await term.waitFor(new RegExp(`try again \\(${left}\\)[\\s\\S]*Teleport proxy`));
    }
    await term.keys("Enter");
    const s = await term.waitFor(/EXIT=\d+/);
    assert.match(s, /EXIT=4/);
    assert.match(s, /tshup: error: https:\/\/127\.0\.0\.1:\d+\/webapi\/find is not a Teleport proxy: it answered an HTML page/);
    assert.equal(s.match(/is not a Teleport proxy/g)?.length, 3, "each answer was tried and said");
    assert.deepEqual(await snapshot(h.home), before);
  });

  test("a URL pasted from the browser gives its host and port, and the wizard says what it dropped", async (t) => {
    const { term } = await session(t);
    await term.waitFor(/Teleport proxy/);
    await term.type(`${proxy.url}/web/login?redirect_uri=%2Fweb`);
    await term.keys("Enter");
    assert.match(await term.waitFor(/Teleport user name/), new RegExp(`Using ${proxy.addr.replace(/\./g, "\\.")}: /web/login\\?redirect_uri=%2Fweb is a page of its web UI, not part of the proxy's address\\.`));
    await asUserAndProceed(term);
  });

  test("Customize changes the answers, the proxy included, before anything is written", async (t) => {
    const { h, term } = await session(t, ["--proxy", proxy.addr, "--user", "alice"]);
    await term.waitFor(/Go ahead\?/);
    await term.keys("Down", "Enter");
    await term.waitFor(/Teleport proxy/);
    await term.keys("C-u");
    await term.type(second.addr);
    await term.keys("Enter");
    await term.waitFor(/Teleport user name/);
    await term.keys("C-u");
    await term.type("carol");
    await term.keys("Enter");
    await term.waitFor(/SSH login on the hosts/);
    await term.keys("C-u");
    await term.type("root");
    await term.keys("Enter");
    await term.waitFor(/Put tsh on PATH/);
    await term.type("n");
    await term.keys("Enter");
    await term.waitFor(/Seed ~\/\.ssh\/config/);
    await term.keys("Enter");
    const plan = await term.waitFor(/leave PATH alone[\s\S]*Go ahead\?/);
    assert.match(plan, /leave PATH alone, as asked/);
    assert.ok(!/--no-modify-path/.test(plan.slice(plan.lastIndexOf("tshup will:"))), "a choice made here is not called a flag");
    assert.match(plan.slice(plan.lastIndexOf("tshup will:")), /second runs 17\.5\.1/, "the plan is made from the new proxy's answer");
    await term.keys("Enter");
    assert.match(await term.waitFor(/EXIT=\d+/), /EXIT=0/);
    assert.ok(!fs.existsSync(path.join(h.home, ".profile")), "PATH was left alone as customized");
    const conf = fs.readdirSync(path.join(h.home, ".ssh", "tshup")).map((f) => fs.readFileSync(path.join(h.home, ".ssh", "tshup", f), "utf8")).join("");
    assert.match(conf, /keys\/127\.0\.0\.1\/carol/);
    assert.deepEqual(fs.readdirSync(path.join(h.home, ".ssh", "tshup")), ["second.conf"], "config for the proxy chosen in Customize");
  });

  test("the first run of a downloaded executable offers to put tshup itself on PATH, and does", { skip: binarySkip() }, async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const downloaded = path.join(h.home, "Downloads", "tshup-linux-x64");
    fs.mkdirSync(path.dirname(downloaded));
    fs.copyFileSync(BINARY, downloaded);
    fs.chmodSync(downloaded, 0o755);
    const term = new Terminal("w");
    t.after(() => term.close());
    await term.start(["--proxy", proxy.addr, "--user", "alice"], { ...h.env, ...standin.env, TERM: "xterm-256color" }, { command: [downloaded] });
    await term.waitFor(/Go ahead\?/);
    await term.keys("Enter");
    await term.waitFor(/Also put tshup itself at ~\/\.local\/bin\/tshup, on PATH/);
    await term.keys("Enter");
    assert.match(await term.waitFor(/EXIT=\d+/), /EXIT=0/);
    const copy = path.join(h.home, ".local", "bin", "tshup");
    assert.ok(fs.readFileSync(copy).equals(fs.readFileSync(BINARY)), "the copy is the downloaded executable");
    // Run from the copy, nothing is offered: it is already where it should be.
    const again = new Terminal("w2");
    t.after(() => again.close());
    await again.start(["--proxy", proxy.addr, "--user", "alice"], { ...h.env, ...standin.env, TERM: "xterm-256color" }, { command: [copy] });
    await again.waitFor(/Go ahead\?/);
    await again.keys("Enter");
    const end = await again.waitFor(/EXIT=\d+/);
    assert.match(end, /EXIT=0/);
    assert.ok(!/Also put tshup itself/.test(end));
  });

  test("Cancel changes nothing", async (t) => {
    const { h, term, before } = await session(t, ["--proxy", proxy.addr, "--user", "alice"]);
    await term.waitFor(/Go ahead\?/);
    await term.keys("Down", "Down", "Enter");
    const s = await term.waitFor(/EXIT=\d+/);
    assert.match(s, /Cancelled; nothing was changed/);
    assert.match(s, /EXIT=0/);
    assert.deepEqual(await snapshot(h.home), before);
  });

  test("Ctrl-C at a question changes nothing", async (t) => {
    const { h, term, before } = await session(t);
    await term.waitFor(/Teleport proxy/);
    await term.keys("C-c");
    const s = await term.waitFor(/EXIT=\d+/);
    assert.match(s, /EXIT=130/);
    assert.deepEqual(await snapshot(h.home), before);
  });

  test("Ctrl-D at a question is Cancelled too, not a bug report", async (t) => {
    const { h, term, before } = await session(t);
    await term.waitFor(/Teleport proxy/);
    await term.keys("C-d");
    const s = await term.waitFor(/EXIT=\d+/);
    assert.match(s, /EXIT=130/);
    assert.match(s, /Cancelled; nothing was changed/);
    assert.doesNotMatch(s, /internal error/);
    assert.deepEqual(await snapshot(h.home), before);
  });

  test("tshup | tee log at a terminal: no question, and the hint says why it did not ask", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const term = new Terminal("tee");
    t.after(() => term.close());
    await term.start([], { ...h.env, ...standin.env, TERM: "xterm-256color" }, { pipeTo: `tee ${path.join(h.home, "log")}` });
    const s = await term.waitFor(/EXIT=\d+/);
    assert.match(s, /EXIT=2/);
    assert.match(s, /tshup: error: no Teleport proxy given/);
    assert.match(s, /hint: pass --proxy .*tshup asks only when its output is a terminal, and here it goes into a pipe or a file; run it without \| or > to be asked/);
    assert.doesNotMatch(s, /Teleport proxy \(the address/, "nothing was asked");
  });

  test("uninstall at a terminal lists what it will remove and asks first; no keeps every file", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const env = { ...h.env, ...standin.env, TERM: "xterm-256color" };
    const installed = await runCli(cliVariants()[0]!, ["--proxy", proxy.addr, "--user", "alice", "--yes"], { env });
    assert.equal(installed.code, 0, installed.stderr);
    const before = await snapshot(h.home);
    const no = new Terminal("u1");
    t.after(() => no.close());
    await no.start(["uninstall"], env);
    const asked = await no.waitFor(/Remove these\?/);
    assert.match(asked, /tshup uninstall will:/);
    assert.match(asked, /delete ~\/\.local\/share\/tshup\/versions\/17\.5\.1/);
    assert.match(asked, /delete ~\/\.ssh\/tshup\/example\.conf/);
    await no.type("n");
    await no.keys("Enter");
    assert.match(await no.waitFor(/EXIT=\d+/), /Nothing was changed\.[\s\S]*EXIT=0/);
    assert.deepEqual(await snapshot(h.home), before, "answering no changes nothing");
    const yes = new Terminal("u2");
    t.after(() => yes.close());
    await yes.start(["uninstall"], env);
    await yes.waitFor(/Remove these\?/);
    await yes.type("y");
    await yes.keys("Enter");
    assert.match(await yes.waitFor(/EXIT=\d+/), /tshup removed[\s\S]*EXIT=0/);
    assert.ok(!fs.existsSync(path.join(h.home, ".local", "share", "tshup")));
  });
});
