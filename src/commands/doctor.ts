import fs from "node:fs";
import path from "node:path";
import { execFile } from "node:child_process";
import { reportPaths, type Context } from "../context.js";
import { envGet } from "../host.js";
import { inWindow, describeWindow } from "../core/version.js";
import { certificateValidity } from "../core/sshcert.js";
import { clusterReport } from "../core/report.js";
import { hostOf, tshProfileAddr } from "../core/proxyaddr.js";
import { readProfileUser } from "../io/tshprofile.js";
import { readTextIfExists } from "../io/fsx.js";
import { queryClusters, resolveProxies, type QueriedCluster } from "./clusters.js";
import { gatherLocalFacts, installedAndActive, servingVersion, type LocalFacts } from "./facts.js";

export type FindingStatus = "ok" | "problem" | "info";

export interface Finding {
  check: string;
  status: FindingStatus;
  detail: string;
  fix: string;
}

const CLOCK_SKEW_LIMIT_S = 60;

/** Checks the setup and explains each problem with its fix; exit 3 when anything is wrong. */
export async function runDoctor(ctx: Context): Promise<number> {
  const { report, layout, host, opts } = ctx;
  const findings: Finding[] = [];
  const add = (check: string, status: FindingStatus, detail: string, fix = "") => findings.push({ check, status, detail, fix });
  const show = ctx.platform.display;

  const { active } = await installedAndActive(ctx);
  report.version = active?.version ?? null;
  report.previous = report.version;
  report.paths = reportPaths(ctx);
  if (!active) add("installed", "problem", `no tsh installed by tshup in ${show(layout.root)}`, "run tshup --proxy <your proxy>");
  else add("installed", "ok", `tsh ${active.version} is active (${show(report.paths.tsh)})`);
  if (active) {
    const { findManagedOverride, describeOverride } = await import("../io/managed.js");
    const o = await findManagedOverride(ctx, active.version);
    if (o) {
      const d = describeOverride(o, active.version);
      add("managed-updates", "problem", d.detail, d.fix);
    } else add("managed-updates", "ok", `no managed copy of tsh would run instead of ${active.version}`);
  }

  checkPath(ctx, add, show);

  let clusters: QueriedCluster[] = [];
  try {
    const proxies = await resolveProxies(ctx);
    clusters = await queryClusters(ctx, proxies);
    for (const c of clusters) add("proxy", "ok", `${c.proxy} answers: ${c.cluster || "cluster"} runs Teleport ${c.serverVersion}`);
  } catch (err) {
    const e = err as { message?: string; hint?: string };
    add("proxy", "problem", e.message ?? String(err), e.hint ?? "check the proxy address and your network");
  }
  // Each cluster is judged by the tsh that serves it: its tsh-<cluster> alias under --per-cluster.
  let facts: LocalFacts | null = null;
  if (clusters.length > 0) {
    try {
      facts = await gatherLocalFacts(ctx, clusters, { quiet: true, effects: false });
    } catch (err) {
      const e = err as { message?: string; hint?: string };
      add("version", "problem", e.message ?? String(err), e.hint ?? "");
    }
  }
  const serving = (c: QueriedCluster) => (facts ? servingVersion(facts, c) : (active?.version ?? null));
  report.clusters = clusters.map((c) => clusterReport(c, serving(c)));

  for (const c of clusters) {
    if (!active) continue;
    const version = serving(c);
    const tsh = facts?.groups.find((g) => g.clusters.includes(c))?.alias ?? "tsh";
    if (version === null) add("version", "problem", `no ${tsh} serves ${c.cluster || c.proxy}`, `run tshup --proxy ${c.proxy}${tsh === "tsh" ? "" : " --per-cluster"}`);
    else if (inWindow(version, c.window)) add("version", "ok", `${tsh} ${version} suits ${c.cluster || c.proxy} (${c.serverVersion})`);
    else add("version", "problem", `${tsh} ${version} does not suit ${c.cluster || c.proxy}, which runs ${c.serverVersion} and accepts ${describeWindow(c.window)}`, `run tshup --proxy ${c.proxy}`);
    if (c.date) {
      const skew = (host.now() - Date.parse(c.date)) / 1000;
      if (Number.isFinite(skew) && Math.abs(skew) > CLOCK_SKEW_LIMIT_S) {
        add("clock", "problem", `this machine's clock is ${Math.round(Math.abs(skew) / 60)} minutes ${skew > 0 ? "ahead of" : "behind"} ${c.proxy}`, "certificates fail when clocks differ by more than a minute: turn on time synchronisation (NTP)");
      } else if (Number.isFinite(skew)) {
        add("clock", "ok", `clock within ${Math.max(1, Math.round(Math.abs(skew)))} s of ${c.proxy}`);
      }
    }
    await checkCertificate(ctx, c, add, show);
  }

  await checkSshConfig(ctx, add, show);

  report.findings = findings;
  const problems = findings.filter((f) => f.status === "problem");
  if (!opts.json && !opts.quiet) {
    const mark = { ok: "ok     ", problem: "PROBLEM", info: "info   " };
    for (const f of findings) {
      host.stdout.write(`${mark[f.status]} ${f.check}: ${f.detail}\n`);
      if (f.fix && f.status === "problem") host.stdout.write(`        fix: ${f.fix}\n`);
    }
    host.stdout.write(problems.length ? `${problems.length} problem${problems.length > 1 ? "s" : ""} found\n` : "no problems found\n");
  }
  return problems.length ? 3 : 0;
}

/** The first tsh a new shell would run must be ours: anything earlier on PATH shadows it. */
function checkPath(ctx: Context, add: (c: string, s: FindingStatus, d: string, f?: string) => void, show: (p: string) => string): void {
  const { host, layout, platform } = ctx;
  const win = platform.windows;
  const p = win ? path.win32 : path.posix;
  const entries = (envGet(host, "PATH") ?? "").split(win ? ";" : ":").filter(Boolean);
  const norm = (d: string) => (win ? d.replace(/[\\/]+$/, "").toLowerCase() : d.replace(/\/+$/, ""));
  const ours = norm(layout.binDir);
  const exe = platform.binName("tsh");
  const ourIndex = entries.findIndex((e) => norm(e) === ours);
  const shadows: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    if (i === ourIndex) break;
    const candidate = p.join(entries[i]!, exe);
    try {
      if (fs.statSync(candidate).isFile()) shadows.push(candidate);
    } catch {
      // not there
    }
  }
  for (const s of shadows) {
    const brew = /^\/(opt\/homebrew|usr\/local)\/bin\//.test(s);
    add(
      "path",
      "problem",
      `${s} comes before tshup's tsh on PATH${ourIndex < 0 ? " (tshup's bin directory is not on this PATH at all)" : ""}`,
      brew ? `remove the other install (brew uninstall teleport, or delete ${s}), then open a new terminal` : `delete ${s} or move its directory after ${show(layout.binDir)} in PATH, then open a new terminal`,
    );
  }
  if (ourIndex < 0 && shadows.length === 0) {
    add("path", "problem", `${show(layout.binDir)} is not on this shell's PATH`, `open a new terminal (tshup added it for new ones), or run: ${platform.currentShellHint(layout)}`);
  } else if (shadows.length === 0) {
    add("path", "ok", `tsh resolves to ${show(p.join(layout.binDir, exe))}`);
  }
}

async function checkCertificate(ctx: Context, c: QueriedCluster, add: (c: string, s: FindingStatus, d: string, f?: string) => void, show: (p: string) => string): Promise<void> {
  const proxyHost = hostOf(tshProfileAddr(c));
  const user = ctx.opts.user ?? (await readProfileUser(ctx.teleportHome, proxyHost));
  if (!user) {
    add("certificate", "info", `no Teleport user known for ${proxyHost}`, `run tsh login --proxy=${c.proxy}`);
    return;
  }
  const certPath = path.join(ctx.teleportHome, "keys", proxyHost, `${user}-ssh`, `${c.cluster}-cert.pub`);
  const text = await readTextIfExists(certPath);
  if (text === null) {
    add("certificate", "info", `not logged in to ${c.cluster || proxyHost} as ${user} (no ${show(certPath)})`, `run tsh login --proxy=${c.proxy} --user=${user}`);
    return;
  }
  const validity = certificateValidity(text);
  if (!validity) {
    add("certificate", "problem", `${show(certPath)} is not an OpenSSH certificate`, `run tsh logout and tsh login --proxy=${c.proxy}`);
    return;
  }
  const left = validity.validBefore.getTime() - ctx.host.now();
  if (left <= 0) add("certificate", "problem", `the certificate for ${user}@${c.cluster} expired ${validity.validBefore.toISOString()}`, `run tsh login --proxy=${c.proxy}`);
  else add("certificate", "ok", `the certificate for ${user}@${c.cluster} is valid until ${validity.validBefore.toISOString()} (${Math.floor(left / 3600_000)} h ${Math.floor((left % 3600_000) / 60_000)} min left)`);
}

/** Asks OpenSSH itself whether the config parses (`ssh -G`), where ssh is installed. */
async function checkSshConfig(ctx: Context, add: (c: string, s: FindingStatus, d: string, f?: string) => void, show: (p: string) => string): Promise<void> {
  const config = path.join(ctx.host.home, ".ssh", "config");
  if (!fs.existsSync(config)) {
    add("ssh-config", "info", `${show(config)} does not exist`, "");
    return;
  }
  const result = await new Promise<{ code: number | null; stderr: string; missing: boolean }>((resolve) => {
    execFile("ssh", ["-G", "-F", config, "tshup-doctor.invalid"], { env: ctx.host.env as NodeJS.ProcessEnv, timeout: 15_000, windowsHide: true }, (err, _out, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | string | undefined) : 0;
      resolve({ code: typeof code === "number" ? code : code === undefined ? 0 : null, stderr: String(stderr), missing: code === "ENOENT" });
    });
  });
  if (result.missing) add("ssh-config", "info", "ssh is not installed, so the ssh config was not checked", "");
  else if (result.code === 0) add("ssh-config", "ok", `${show(config)} parses (ssh -G)`);
  else add("ssh-config", "problem", `ssh cannot read ${show(config)}: ${result.stderr.trim().split("\n")[0]}`, `fix the line ssh names, or restore ${show(config)}.tshup-backup if tshup made one`);
}
