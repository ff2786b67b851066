import path from "node:path";
import type { Host } from "./host.js";
import { envGet } from "./host.js";
import type { Options } from "./options.js";
import { createFeedback, type Feedback } from "./ui/feedback.js";
import { defaultRoot, layoutFor, pathFor, type Layout } from "./core/layout.js";
import { newReport, type Report } from "./core/report.js";
import { Http } from "./io/http.js";
import type { PlatformStrategy } from "./platform/types.js";
import type { Manifest } from "./core/manifest.js";
import type { State } from "./io/store.js";

/** What a command runs with: built once from the host and the options, passed down explicitly. */
export interface Context {
  host: Host;
  opts: Options;
  feedback: Feedback;
  layout: Layout;
  platform: PlatformStrategy;
  report: Report;
  http: Http;
  /** TELEPORT_HOME, default ~/.tsh: where tsh keeps profiles and keys. */
  teleportHome: string;
  /** The site manifest in force (--manifest, or built in), already merged into opts. */
  site: Manifest | null;
  /** The version `tshup use` pinned, when it is the one this run keeps (no --version, no manifest pin). */
  usePin: string | null;
  /** state.json as the run found it (install, status, doctor): the choices and proxies it remembers. */
  remembered: State | null;
}

export async function createContext(host: Host, opts: Options): Promise<Context> {
  // Only this OS's strategy is loaded: the other one's code would cost every run its start-up.
  const platform =
    host.platform === "win32" ? (await import("./platform/win32.js")).win32Strategy(host) : (await import("./platform/posix.js")).posixStrategy(host);
  const p = pathFor(host);
  const root = opts.prefix ? p.resolve(opts.prefix) : defaultRoot(host);
  const layout = layoutFor(root, p as typeof path);
  const teleportHomeEnv = envGet(host, "TELEPORT_HOME");
  const report = newReport(opts.command);
  const feedback = createFeedback(host, { json: opts.json, quiet: opts.quiet, verbose: opts.verbose, onWarn: (w) => (report.warnings ??= []).push(w) });
  return {
    host,
    opts,
    feedback,
    layout,
    platform,
    report,
    http: new Http({ host, caFile: opts.caFile, timeoutMs: opts.timeoutSeconds * 1000, retries: 4, onRetry: (n) => feedback.retry(n), ...(opts.verbose ? { log: feedback.verbose } : {}) }),
    teleportHome: teleportHomeEnv ? p.resolve(teleportHomeEnv) : p.join(host.home, ".tsh"),
    site: null,
    usePin: null,
    remembered: null,
  };
}

/** SPEC section 5's `paths`: where the root, the bin directory and the tsh on PATH are. */
export function reportPaths(ctx: Context): { root: string; bin_dir: string; tsh: string } {
  const { layout, platform } = ctx;
  return { root: layout.root, bin_dir: layout.binDir, tsh: path.join(layout.binDir, platform.binName("tsh")) };
}
