import type { ErrorCode } from "./errors.js";
import type { ClusterInfo } from "./ping.js";
import { inWindow } from "./version.js";

export type StepStatus = "done" | "skipped" | "failed";

export interface StepRecord {
  step: string;
  status: StepStatus;
  detail: string;
}

export interface ClusterReport {
  proxy: string;
  cluster: string;
  server_version: string;
  min_client_version: string | null;
  target: string;
  /** Whether the tsh serving the cluster lies in its window; null when no tsh serves it yet. */
  compatible: boolean | null;
}

/** SPEC section 5: the one document every command produces, printed as JSON or as text. */
export interface Report {
  command: string;
  ok: boolean;
  changed: boolean;
  version: string | null;
  previous: string | null;
  clusters: ClusterReport[];
  paths: { root: string; bin_dir: string; tsh: string } | null;
  steps: StepRecord[];
  error: { code: ErrorCode; message: string; hint: string } | null;
  action?: "none" | "install" | "upgrade" | "downgrade";
  installed?: string[];
  /** What the run warned about, also under --quiet, which prints none of it. */
  warnings?: string[];
  [extra: string]: unknown;
}

export function newReport(command: string): Report {
  return { command, ok: true, changed: false, version: null, previous: null, clusters: [], paths: null, steps: [], error: null };
}

/** Marks a dry run's report and gives its exit code: 3 exactly when it would change something (SPEC section 4). */
export function dryRunExit(report: Report, wouldChange: boolean): number {
  report.dry_run = true;
  report.would_change = wouldChange;
  return wouldChange ? 3 : 0;
}

export function addStep(report: Report, step: string, status: StepStatus, detail: string): void {
  report.steps.push({ step, status, detail });
  if (status === "done") report.changed = true;
}

/** `compatible` says whether the version that serves the cluster lies in its window (null: none does). */
export function clusterReport(c: ClusterInfo, serving: string | null): ClusterReport {
  return {
    proxy: c.proxy,
    cluster: c.cluster,
    server_version: c.serverVersion,
    min_client_version: c.minClientVersion,
    target: c.target,
    compatible: serving === null ? null : inWindow(serving, c.window),
  };
}
