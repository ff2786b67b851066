import { networkError } from "./errors.js";
import { parseProxyAddress } from "./proxyaddr.js";
import { printable, shown } from "./format.js";
import { isStrictVersion, windowFor, type VersionWindow } from "./version.js";

export type Edition = "community" | "ent";

/** What tshup needs from a proxy's /webapi/find (or /webapi/ping) answer, validated. */
export interface ClusterInfo {
  proxy: string;
  cluster: string;
  serverVersion: string;
  minClientVersion: string | null;
  /** tools_version when the cluster manages client versions, else null. */
  toolsVersion: string | null;
  edition: Edition;
  fips: boolean;
  /** The proxy's public web address and, when not TLS-routed, its SSH address. */
  webPublicAddr: string | null;
  sshPublicAddr: string | null;
  tlsRouting: boolean;
  target: string;
  window: VersionWindow;
  /** What the answer held that tshup tolerated, for a warning (an edition it does not know). */
  notes: string[];
}

const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const HOST_PORT = /^[A-Za-z0-9.\-_[\]:]{1,260}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Turns a proxy's answer into a ClusterInfo, or throws a network error (exit 4) that says what was
 * wrong with it: every string is checked before it reaches a URL, a path or a config file.
 */
export function parsePing(body: unknown, proxy: string, url: string): ClusterInfo {
  const bad = (what: string) =>
    networkError(
      `${url} is not a valid Teleport answer: ${what}`,
      `check that ${proxy} is a Teleport proxy (the web address users open in a browser, often port 443 or 3080)`,
    );
  if (!isObject(body)) throw bad("expected a JSON object");
  const serverVersion = body.server_version;
  if (serverVersion === undefined) throw bad("server_version is missing");
  if (!isStrictVersion(serverVersion)) throw bad(`server_version ${shown(serverVersion)} is not a version`);

  let minClientVersion: string | null = null;
  if (body.min_client_version !== undefined && body.min_client_version !== "") {
    if (!isStrictVersion(body.min_client_version)) {
      throw bad(`min_client_version ${shown(body.min_client_version)} is not a version`);
    }
    minClientVersion = body.min_client_version;
  }

  let cluster = "";
  if (body.cluster_name !== undefined && body.cluster_name !== "") {
    if (typeof body.cluster_name !== "string" || !CLUSTER_NAME.test(body.cluster_name)) {
      throw bad(`cluster_name ${shown(body.cluster_name)} is not a cluster name`);
    }
    cluster = body.cluster_name;
  }

  let edition: Edition = "community";
  const notes: string[] = [];
  if (body.edition !== undefined && body.edition !== "") {
    if (body.edition === "ent") edition = "ent";
    else if (body.edition !== "oss" && body.edition !== "community") {
      // tsh ignores editions it does not know; so does tshup, and installs the community build.
      if (typeof body.edition !== "string") throw bad(`edition ${shown(body.edition)} is not a string`);
      notes.push(`${proxy} says its edition is ${shown(body.edition)}, which tshup does not know; installing the community tsh (pass --edition ent for the enterprise build)`);
    }
  }
  if (body.fips !== undefined && typeof body.fips !== "boolean") throw bad("fips is not true or false");
  const fips = body.fips === true;

  let toolsVersion: string | null = null;
  if (body.auto_update !== undefined && body.auto_update !== null) {
    if (!isObject(body.auto_update)) throw bad("auto_update is not an object");
    const au = body.auto_update;
    if (au.tools_auto_update !== undefined && typeof au.tools_auto_update !== "boolean") {
      throw bad("auto_update.tools_auto_update is not true or false");
    }
    if (au.tools_version !== undefined && au.tools_version !== "" && !isStrictVersion(au.tools_version)) {
      throw bad(`auto_update.tools_version ${shown(au.tools_version)} is not a version`);
    }
    if (au.tools_auto_update === true && typeof au.tools_version === "string" && au.tools_version !== "") {
      toolsVersion = au.tools_version;
    }
  }

  let webPublicAddr: string | null = null;
  let sshPublicAddr: string | null = null;
  let tlsRouting = false;
  if (isObject(body.proxy)) {
    const p = body.proxy;
    if (p.tls_routing_enabled !== undefined && typeof p.tls_routing_enabled !== "boolean") {
      throw bad("proxy.tls_routing_enabled is not true or false");
    }
    tlsRouting = p.tls_routing_enabled === true;
    if (isObject(p.ssh)) {
      webPublicAddr = optionalHostPort(p.ssh.public_addr, "proxy.ssh.public_addr", bad);
      sshPublicAddr = optionalHostPort(p.ssh.ssh_public_addr, "proxy.ssh.ssh_public_addr", bad);
    }
  }

  return {
    proxy,
    cluster,
    serverVersion,
    minClientVersion,
    toolsVersion,
    edition: fips ? "ent" : edition,
    fips,
    webPublicAddr,
    sshPublicAddr,
    tlsRouting,
    target: toolsVersion ?? serverVersion,
    window: windowFor(serverVersion, minClientVersion),
    notes,
  };
}

function optionalHostPort(value: unknown, key: string, bad: (what: string) => Error): string | null {
  if (value === undefined || value === "") return null;
  if (typeof value !== "string" || !HOST_PORT.test(value)) throw bad(`${key} ${shown(value)} is not host:port`);
  // It names tsh's profile and key paths and goes into ssh's config: only a real host and port.
  try {
    return parseProxyAddress(value).addr;
  } catch {
    throw bad(`${key} ${shown(value)} is not host:port`);
  }
}

/** The message inside Teleport's error body {"error":{"message":"..."}}, if that is what it is. */
export function teleportErrorMessage(body: unknown): string | null {
  if (isObject(body) && isObject(body.error) && typeof body.error.message === "string") {
    return printable(body.error.message, 300);
  }
  return null;
}
