/**
 * The site manifest (SPEC section 7): YAML or JSON, checked against manifests/schema.json and then
 * for what a schema cannot say (proxy syntax, ssh config safety). Every problem is one line naming
 * the key path, what was expected and what was found.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parseDocument } from "yaml";
import schema from "../../manifests/schema.json" with { type: "json" };
import { TshupError, usageError } from "./errors.js";
import { parseProxyAddress } from "./proxyaddr.js";
import { isStrictVersion } from "./version.js";
import { shown } from "./format.js";
import { parseSigningKey } from "./signature.js";
import {
  hostPatternProblem,
  loginProblem,
  parseJump,
  sshOptionProblem,
  teleportUserProblem,
  type SshOptionValue,
  type SshStyle,
} from "./sshconfig.js";

export type ManifestTool = "tsh" | "tctl";

export interface ManifestClusterSsh {
  style: SshStyle;
  hosts?: string[];
  jump?: string;
  options?: Record<string, SshOptionValue>;
}

export interface ManifestCluster {
  /** As written: host, host:port or https://host:port (parseProxyAddress accepts it). */
  proxy: string;
  ssh?: ManifestClusterSsh;
}

export interface Manifest {
  name?: string;
  cdn?: string;
  tools?: ManifestTool[];
  policy?: {
    match?: "exact" | "compatible";
    version?: string;
    /** Artifact file name -> SHA-256, lower-cased. */
    sha256?: Record<string, string>;
    /** Whether every Linux tarball must carry a valid .sig (default optional). */
    signatures?: "required" | "optional";
  };
  /** PEM public keys trusted for .sig files, beyond the ones built into tshup. */
  signing_keys?: string[];
  ask?: ("proxy" | "user" | "login")[];
  edition?: "auto" | "community" | "ent";
  user?: string;
  login?: string;
  clusters?: ManifestCluster[];
  /** Where the site's tshup builds and their SHA256SUMS are (`tshup self update`), without a trailing slash. */
  self_update?: { base_url: string };
}

const HINT = "correct the manifest; every key and its format is described in tshup's manifests/schema.json";

let compiled: ValidateFunction | null = null;

/** Compiled on first use: most runs have no manifest. */
function validator(): ValidateFunction {
  if (!compiled) {
    compiled = new Ajv({ allErrors: false, verbose: true, allowUnionTypes: true, strict: true }).compile(schema);
  }
  return compiled;
}

/** `clusters[0].ssh.options.ServerAliveInterval`, or `policy.sha256["a-b.tar.gz"]` for other keys. */
function keyPath(parts: (string | number)[]): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

function pointerParts(pointer: string): (string | number)[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

function typeWords(type: string | string[]): string {
  const one = (t: string) => (t === "array" ? "a list" : t === "object" ? "a mapping" : t === "integer" ? "a whole number" : `a ${t}`);
  return Array.isArray(type) ? type.map(one).join(", ").replace(/, ([^,]*)$/, " or $1") : one(type);
}

function describe(err: ErrorObject): string {
  const parts = pointerParts(err.instancePath);
  const where = keyPath(parts);
  const subject = where || "the manifest";
  const desc = (err.parentSchema as { description?: string } | undefined)?.description;
  const params = err.params as Record<string, any>;
  switch (err.keyword) {
    case "additionalProperties": {
      const allowed = Object.keys((err.parentSchema as { properties?: object })?.properties ?? {});
      return `${keyPath([...parts, params.additionalProperty])} is not a known key (${where ? `${where} takes` : "known keys:"} ${allowed.join(", ")})`;
    }
    case "required":
      return `${subject} is missing ${params.missingProperty}`;
    case "type": {
      const quoteHint = params.type === "string" && (typeof err.data === "number" || typeof err.data === "boolean") ? "; put it in quotes" : "";
      return `${subject} must be ${typeWords(params.type)} (got ${shown(err.data)})${desc ? `: ${desc}` : ""}${quoteHint}`;
    }
    case "enum":
      return `${subject} must be one of ${(params.allowedValues as unknown[]).join(", ")} (got ${shown(err.data)})`;
    case "const":
      return `${subject} must be ${shown(params.allowedValue)} (got ${shown(err.data)})`;
    case "pattern":
      if (err.propertyName !== undefined) {
        return `${keyPath([...parts, err.propertyName])}: the key must be ${desc ?? `like ${params.pattern}`}`;
      }
      return `${subject} must be ${desc ?? `like ${params.pattern}`} (got ${shown(err.data)})`;
    case "minLength":
      return `${subject} must not be empty`;
    case "minItems":
      return `${subject} must list at least ${params.limit} item${params.limit === 1 ? "" : "s"} (got ${shown(err.data)})`;
    case "uniqueItems":
      return `${subject} lists ${shown((err.data as unknown[])[params.j])} twice`;
    case "contains":
      return `${subject} must include tsh (got ${shown(err.data)})`;
    case "propertyNames":
      return `${keyPath([...parts, params.propertyName])} is not a valid key here`;
    default:
      return `${subject} ${err.message ?? "is invalid"}`;
  }
}

/** "message at line 3, column 5:\n..." from the yaml package, as its first clause. */
function yamlReason(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "").trim();
}

function parseText(text: string, source: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    // JSON written with tabs or other habits YAML frowns on is still JSON.
    if (/^\s*[{[]/.test(text)) {
      try {
        return JSON.parse(text);
      } catch {
        // Report the YAML error, which has a position.
      }
    }
    const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
    throw usageError(`manifest ${where}: not valid YAML or JSON: ${yamlReason(e.message)}`, HINT);
  }
  try {
    return doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    // An alias bomb (or a document too deep to build) is refused, not expanded.
    throw usageError(`manifest ${source}: ${yamlReason((err as Error).message)}`, "write the manifest without chains of YAML aliases (*name)");
  }
}

/**
 * Parses and validates a manifest. `source` names it in messages (a path or URL). Throws a usage
 * error (exit 2) naming the key path on the first problem.
 */
export function parseManifest(text: string, source: string): Manifest {
  const fail = (msg: string) => usageError(`manifest ${source}: ${msg}`, HINT);
  const data = parseText(text, source);
  if (data === null || data === undefined) throw fail("it is empty; expected a mapping of keys such as clusters and policy");
  if (typeof data !== "object" || Array.isArray(data)) {
    throw fail(`its top level must be a mapping of keys such as clusters and policy (got ${Array.isArray(data) ? "a list" : shown(data)})`);
  }
  const validate = validator();
  if (!validate(data)) throw fail(describe(validate.errors![0]!));
  const m = data as Manifest;

  if (m.policy?.version !== undefined && !isStrictVersion(m.policy.version)) {
    throw fail(`policy.version must be a version X.Y.Z or X.Y.Z-pre without a leading v, e.g. 17.5.1 (got ${shown(m.policy.version)})`);
  }
  if (m.cdn !== undefined) {
    try {
      new URL(m.cdn);
    } catch {
      throw fail(`cdn must be a URL such as https://mirror.example.org/teleport (got ${shown(m.cdn)})`);
    }
  }
  if (m.self_update) {
    // What it names replaces tshup itself: only verified https, and a URL that says exactly where.
    let u: URL | null = null;
    try {
      u = new URL(m.self_update.base_url);
    } catch {
      // Reported below.
    }
    if (!u || u.protocol !== "https:" || !u.hostname || u.search || u.hash || u.username || u.password) {
      throw fail(`self_update.base_url must be an https:// URL of a directory, without a query, fragment or password, e.g. https://intranet.example.org/tshup (got ${shown(m.self_update.base_url)})`);
    }
    m.self_update.base_url = m.self_update.base_url.replace(/\/+$/, "");
  }
  if (m.user !== undefined) {
    const p = teleportUserProblem(m.user);
    if (p) throw fail(`user ${p} (got ${shown(m.user)})`);
  }
  if (m.login !== undefined) {
    const p = loginProblem(m.login);
    if (p) throw fail(`login ${p} (got ${shown(m.login)})`);
  }
  for (const [i, pem] of (m.signing_keys ?? []).entries()) {
    try {
      parseSigningKey(pem);
    } catch (err) {
      throw fail(`signing_keys[${i}] is not an ECDSA P-256 public key: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  if (m.policy?.sha256) {
    // Hex case means nothing; PowerShell's Get-FileHash prints upper case.
    m.policy.sha256 = Object.fromEntries(Object.entries(m.policy.sha256).map(([k, v]) => [k, v.toLowerCase()]));
  }

  const seen = new Map<string, number>();
  (m.clusters ?? []).forEach((c, i) => {
    const at = (...rest: (string | number)[]) => keyPath(["clusters", i, ...rest]);
    let addr: string;
    try {
      addr = parseProxyAddress(c.proxy).addr;
    } catch (err) {
      const why = err instanceof TshupError ? err.message.replace(/^invalid proxy address "[^"]*": /, "") : String(err);
      throw fail(`${at("proxy")} must be host, host:port or https://host:port: ${why} (got ${shown(c.proxy)})`);
    }
    const earlier = seen.get(addr);
    if (earlier !== undefined) throw fail(`${at("proxy")} repeats ${keyPath(["clusters", earlier, "proxy"])} (${addr})`);
    seen.set(addr, i);

    const ssh = c.ssh;
    if (!ssh) return;
    for (const [j, h] of (ssh.hosts ?? []).entries()) {
      const p = hostPatternProblem(h);
      if (p) throw fail(`${at("ssh", "hosts", j)} ${p} (got ${shown(h)})`);
    }
    if (ssh.hosts && ssh.hosts.every((h) => h.startsWith("!"))) {
      throw fail(`${at("ssh", "hosts")} must include at least one pattern without ! (got ${shown(ssh.hosts)})`);
    }
    if (ssh.style === "proxyjump" && !ssh.hosts) {
      throw fail(`${at("ssh")} is missing hosts, which the proxyjump style needs (e.g. hosts: ["node-*"])`);
    }
    if (ssh.jump !== undefined) {
      if (ssh.style !== "proxyjump") throw fail(`${at("ssh", "jump")} only goes with style proxyjump (the style is ${ssh.style})`);
      const j = parseJump(ssh.jump);
      if (typeof j === "string") throw fail(`${at("ssh", "jump")} ${j} (got ${shown(ssh.jump)})`);
    }
    for (const [name, value] of Object.entries(ssh.options ?? {})) {
      const p = sshOptionProblem(name, value, ssh.style);
      if (p) throw fail(`${at("ssh", "options", name)}: ${p} (got ${shown(value)})`);
    }
  });
  return m;
}
