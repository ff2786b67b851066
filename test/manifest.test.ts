import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TshupError } from "../src/core/errors.js";
import { parseManifest } from "../src/core/manifest.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const read = (name: string) => fs.readFileSync(path.join(ROOT, "manifests", name), "utf8");

test("the example and seed manifests parse", () => {
  const example = parseManifest(read("example.yaml"), "example.yaml");
  assert.equal(example.name, "Example Org");
  assert.deepEqual(example.tools, ["tsh", "tctl"]);
  assert.equal(example.policy?.version, "17.5.1");
  assert.equal(example.clusters?.length, 2);
  assert.equal(example.self_update?.base_url, "https://intranet.example.org/tshup");
  assert.deepEqual(example.clusters?.[1]?.ssh?.options?.SendEnv, ["LANG", "LC_*"]);

  const seed = parseManifest(read("seed-site.yaml"), "seed-site.yaml");
  assert.deepEqual(seed.ask, ["user", "login"]);
  assert.deepEqual(seed.clusters, [
    {
      proxy: "jump.example.org",
      ssh: {
        style: "proxyjump",
        hosts: ["a?-*", "a??-*", "hpc-*", "hpc2020-*", "ecs-*"],
        jump: "jump.example.org:3023",
        options: {
          HostKeyAlgorithms: "+ssh-rsa*,rsa-sha2-512",
          PubkeyAcceptedKeyTypes: "+ssh-rsa*",
          ServerAliveInterval: 60,
          TCPKeepAlive: "yes",
        },
      },
    },
  ]);
});

test("the schema file is a JSON Schema that closes every object", () => {
  const schema = JSON.parse(read("schema.json"));
  assert.match(schema.$schema, /json-schema\.org\/draft-07/);
  const open: string[] = [];
  const walk = (node: any, at: string) => {
    if (!node || typeof node !== "object") return;
    if (node.type === "object" && node.additionalProperties !== false && typeof node.additionalProperties !== "object") open.push(at);
    for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
  };
  walk(schema, "#");
  assert.deepEqual(open, []);
});

test("JSON manifests work too, tab-indented ones included", () => {
  const json = '{\n\t"tools": ["tsh"],\n\t"clusters": [\n\t\t{"proxy": "https://teleport.example.org:3080", "ssh": {"style": "tsh-proxy"}}\n\t]\n}\n';
  const m = parseManifest(json, "site.json");
  assert.equal(m.clusters?.[0]?.proxy, "https://teleport.example.org:3080");
});

test("self_update.base_url names an https directory, kept without its trailing slash", () => {
  const m = parseManifest("self_update:\n  base_url: https://intranet.example.org/tshup/\n", "site.yaml");
  assert.deepEqual(m.self_update, { base_url: "https://intranet.example.org/tshup" });
  assert.equal(parseManifest("self_update: {base_url: 'https://[::1]:8443'}\n", "site.yaml").self_update?.base_url, "https://[::1]:8443");
});

test("sha256 pins are accepted in either hex case and kept lower-case", () => {
  const upper = "ABCDEF0123456789".repeat(4);
  const m = parseManifest(`policy:\n  sha256:\n    teleport-v17.5.1-linux-amd64-bin.tar.gz: "${upper}"\n`, "site.yaml");
  assert.equal(m.policy?.sha256?.["teleport-v17.5.1-linux-amd64-bin.tar.gz"], upper.toLowerCase());
});

const CLUSTER = (ssh: string) => `clusters:\n  - proxy: teleport.example.org\n    ssh:\n${ssh}`;
const JUMP = (extra: string) => CLUSTER(`      style: proxyjump\n      hosts: ["node-*"]\n${extra}`);

/** Each bad manifest: the message it must give (after "manifest site.yaml"). */
const BAD: [string, string, RegExp][] = [
  ["unknown top-level key", "nmae: Example\n", /^manifest site\.yaml: nmae is not a known key \(known keys: name, cdn, tools, /],
  ["unknown nested key", JUMP("      extra: 1\n"), /^manifest site\.yaml: clusters\[0\]\.ssh\.extra is not a known key \(clusters\[0\]\.ssh takes style, hosts, jump, options\)$/],
  ["unknown key in policy", "policy:\n  pin: 17.5.1\n", /^manifest site\.yaml: policy\.pin is not a known key/],
  ["wrong type: tools as a string", "tools: tsh\n", /^manifest site\.yaml: tools must be a list \(got "tsh"\)/],
  ["wrong type: clusters as a mapping", "clusters: {proxy: x}\n", /^manifest site\.yaml: clusters must be a list/],
  ["wrong type: hosts item", JUMP("").replace('["node-*"]', "[1]"), /clusters\[0\]\.ssh\.hosts\[0\] must be a string \(got 1\)/],
  ["tools without tsh", "tools: [tctl]\n", /^manifest site\.yaml: tools must include tsh \(got \["tctl"\]\)$/],
  ["unknown tool", "tools: [tsh, tbot]\n", /tools\[1\] must be one of tsh, tctl \(got "tbot"\)/],
  ["bad proxy: a space", "clusters:\n  - proxy: teleport example\n", /^manifest site\.yaml: clusters\[0\]\.proxy must be host, host:port or https:\/\/host:port: .* \(got "teleport example"\)$/],
  ["bad proxy: http", "clusters:\n  - proxy: http://teleport.example.org\n", /clusters\[0\]\.proxy must be .*https, not http/],
  ["bad proxy: port", "clusters:\n  - proxy: teleport.example.org:99999\n", /clusters\[0\]\.proxy .*out of range/],
  ["missing proxy", "clusters:\n  - ssh: {style: tsh-proxy}\n", /^manifest site\.yaml: clusters\[0\] is missing proxy$/],
  ["repeated proxy", "clusters:\n  - proxy: a.example.org\n  - proxy: https://a.example.org:443\n", /clusters\[1\]\.proxy repeats clusters\[0\]\.proxy/],
  ["empty clusters", "clusters: []\n", /clusters must list at least 1 item/],
  ["version pin 17.5 (a YAML number)", "policy:\n  version: 17.5\n", /^manifest site\.yaml: policy\.version must be a string \(got 17\.5\): a version X\.Y\.Z .*; put it in quotes$/],
  ["version pin '17.5'", "policy:\n  version: '17.5'\n", /^manifest site\.yaml: policy\.version must be a version X\.Y\.Z or X\.Y\.Z-pre without a leading v, e\.g\. 17\.5\.1 \(got "17\.5"\)$/],
  ["version pin v17.5.1", "policy:\n  version: v17.5.1\n", /policy\.version must be a version X\.Y\.Z .* \(got "v17\.5\.1"\)$/],
  ["version pin with a leading zero", "policy:\n  version: 17.5.1-01\n", /policy\.version must be a version/],
  ["version pin with build metadata", "policy:\n  version: 17.5.1+abc\n", /policy\.version must be a version/],
  ["sha256 pin of 63 digits", `policy:\n  sha256:\n    a.tar.gz: "${"a".repeat(63)}"\n`, /^manifest site\.yaml: policy\.sha256\["a\.tar\.gz"\] must be 64 hexadecimal digits \(got "a{63}"\)$/],
  ["sha256 pin not hex", `policy:\n  sha256:\n    a.tar.gz: "${"g".repeat(64)}"\n`, /policy\.sha256\["a\.tar\.gz"\] must be 64 hexadecimal digits/],
  ["sha256 pin unquoted digits", `policy:\n  sha256:\n    a.tar.gz: ${"1".repeat(64)}\n`, /policy\.sha256\["a\.tar\.gz"\] must be a string .*put it in quotes/],
  ["sha256 artifact with a slash", `policy:\n  sha256:\n    ../a.tar.gz: "${"a".repeat(64)}"\n`, /policy\.sha256\["\.\.\/a\.tar\.gz"\]: the key must be an artifact file name/],
  ["bad match", "policy:\n  match: latest\n", /policy\.match must be one of exact, compatible \(got "latest"\)/],
  ["bad style", CLUSTER("      style: jump\n"), /^manifest site\.yaml: clusters\[0\]\.ssh\.style must be one of tsh-proxy, proxyjump \(got "jump"\)$/],
  ["missing style", CLUSTER("      hosts: [x]\n"), /clusters\[0\]\.ssh is missing style/],
  ["jump with tsh-proxy", CLUSTER("      style: tsh-proxy\n      jump: j.example.org\n"), /clusters\[0\]\.ssh\.jump only goes with style proxyjump/],
  ["proxyjump without hosts", CLUSTER("      style: proxyjump\n"), /clusters\[0\]\.ssh is missing hosts/],
  ["bad jump", JUMP("      jump: 'j.example.org:3023:1'\n"), /clusters\[0\]\.ssh\.jump must be \[user@\]host\[:port\]/],
  ["host pattern with a space", JUMP("").replace('["node-*"]', '["node-* x"]'), /clusters\[0\]\.ssh\.hosts\[0\] must be an ssh host pattern/],
  ["only negated hosts", JUMP("").replace('["node-*"]', '["!node-*"]'), /clusters\[0\]\.ssh\.hosts must include at least one pattern without !/],
  ["option value with a newline", JUMP('      options:\n        ServerAliveInterval: "60\\nHost *"\n'), /^manifest site\.yaml: clusters\[0\]\.ssh\.options\.ServerAliveInterval: must not contain spaces, tabs or line breaks .*\(got "60\\nHost \*"\)$/],
  ["option value with a space", JUMP("      options:\n        SendEnv: LANG LC_ALL\n"), /options\.SendEnv: must not contain spaces/],
  ["option list with a quote", JUMP("      options:\n        SendEnv: [\"LA'NG\"]\n"), /options\.SendEnv: each word must not contain quotes/],
  ["option name not letters", JUMP("      options:\n        Server-Alive: 1\n"), /clusters\[0\]\.ssh\.options\["Server-Alive"\]: the key must be an ssh option name/],
  ["option Host", JUMP("      options:\n        Host: x\n"), /options\.Host: Host would start a new section/],
  ["option User", JUMP("      options:\n        User: root\n"), /options\.User: User is set by tshup from the ssh login; give it as login/],
  ["option fractional number", JUMP("      options:\n        ConnectTimeout: 1.5\n"), /options\.ConnectTimeout: must be a whole number/],
  ["option of a mapping", JUMP("      options:\n        ConnectTimeout: {a: 1}\n"), /options\.ConnectTimeout must be a string, a number, a boolean or a list/],
  ["login with a space", "login: j doe\n", /^manifest site\.yaml: login must be a user name: letters, digits and \. _ @ - only/],
  ["user with a slash", "user: a/b\n", /^manifest site\.yaml: user must be letters, digits and \. _ @ \+ = , - only/],
  ["bad cdn scheme", "cdn: ftp://mirror.example.org\n", /cdn must be a URL starting with https:\/\/, http:\/\/ or file:\/\//],
  ["self_update over http", "self_update:\n  base_url: http://intranet.example.org/tshup\n", /^manifest site\.yaml: self_update\.base_url must be an https:\/\/ URL of a directory/],
  ["self_update from a file", "self_update:\n  base_url: file:///srv/tshup\n", /self_update\.base_url must be an https:\/\/ URL/],
  ["self_update without a host", "self_update:\n  base_url: https://\n", /self_update\.base_url must be an https:\/\/ URL of a directory, without a query, fragment or password, e\.g\. https:\/\/intranet\.example\.org\/tshup \(got "https:\/\/"\)$/],
  ["self_update with a query", "self_update:\n  base_url: https://a.example.org/t?x=1\n", /self_update\.base_url must be an https:\/\/ URL of a directory, without a query/],
  ["self_update with a password", "self_update:\n  base_url: https://u:p@a.example.org/t\n", /self_update\.base_url must be/],
  ["self_update with a space", "self_update:\n  base_url: https://a.example.org/t x\n", /self_update\.base_url must be an https:\/\/ URL/],
  ["self_update as a string", "self_update: https://a.example.org/t\n", /^manifest site\.yaml: self_update must be a mapping \(got "https:\/\/a\.example\.org\/t"\)/],
  ["self_update without base_url", "self_update: {}\n", /^manifest site\.yaml: self_update is missing base_url$/],
  ["self_update unknown key", "self_update:\n  base_url: https://a.example.org\n  channel: beta\n", /^manifest site\.yaml: self_update\.channel is not a known key \(self_update takes base_url\)$/],
  ["bad edition", "edition: enterprise\n", /edition must be one of auto, community, ent \(got "enterprise"\)/],
  ["ask twice", "ask: [user, user]\n", /ask lists "user" twice/],
  ["top level a list", "- proxy: a\n", /^manifest site\.yaml: its top level must be a mapping/],
  ["empty", "", /^manifest site\.yaml: it is empty/],
  ["only a comment", "# nothing\n", /^manifest site\.yaml: it is empty/],
  ["YAML syntax error", "clusters:\n  - proxy: a\n    ssh: {style: tsh-proxy\n", /^manifest site\.yaml:\d+:\d+: not valid YAML or JSON: /],
  ["YAML bad indentation", "name: x\n  tools: [tsh]\n", /^manifest site\.yaml:1:7: not valid YAML or JSON: Nested mappings are not allowed/],
  ["duplicate key", "name: a\nname: b\n", /^manifest site\.yaml:2:1: not valid YAML or JSON: Map keys must be unique/],
  ["broken JSON", '{"name": "x",\n "tools": [tsh\n}\n', /^manifest site\.yaml:\d+:\d+: not valid YAML or JSON/],
];

test("bad manifests are usage errors (exit 2) that name the key, what was expected and what was found, on one line", () => {
  for (const [name, text, message] of BAD) {
    assert.throws(
      () => parseManifest(text, "site.yaml"),
      (err: unknown) => {
        assert.ok(err instanceof TshupError, name);
        assert.equal(err.code, "usage", name);
        assert.equal(err.exitCode, 2, name);
        assert.match(err.message, message, name);
        assert.equal(err.message.includes("\n"), false, `${name}: one line`);
        assert.match(err.hint, /schema\.json/, name);
        return true;
      },
      name,
    );
  }
});
