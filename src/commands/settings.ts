import type { Options } from "../options.js";
import type { Settings } from "../io/store.js";

/**
 * What a person chose once and a routine rerun (a timer, a cron job) must keep: the tools, one tsh
 * per cluster, the Teleport user and login, and the version `tshup use` pinned. Order of precedence:
 * flags, then the environment, then the manifest, then these, then the defaults. Called before the
 * manifest is applied, so a manifest still overrides what was remembered.
 */
export function applyRemembered(opts: Options, remembered: Settings): void {
  const given = (flag: string) => opts.explicit.has(flag);
  if (!given("tools") && remembered.tools) opts.tools = remembered.tools;
  if (!given("per-cluster") && !given("no-per-cluster") && remembered.perCluster) opts.perCluster = true;
  if (!given("user") && remembered.user) opts.user = remembered.user;
  if (!given("login") && remembered.login) opts.login = remembered.login;
  // An explicit --version lifts the pin; the pin stays only while nothing asks for another version.
  if (!given("version") && remembered.pin) opts.version = remembered.pin;
}

/** The settings to remember after a run: what this run chose explicitly, over what was remembered. */
export function settingsAfter(opts: Options, remembered: Settings): Settings {
  const given = (flag: string) => opts.explicit.has(flag);
  const next: Settings = { ...remembered };
  if (given("tools")) next.tools = opts.tools;
  if (given("per-cluster")) next.perCluster = opts.perCluster || undefined;
  if (given("no-per-cluster")) delete next.perCluster;
  if (given("user") && opts.user) next.user = opts.user;
  if (given("login") && opts.login) next.login = opts.login;
  if (given("version")) delete next.pin;
  return clean(next);
}

const SETTING_KEYS = ["tools", "perCluster", "user", "login", "pin"] as const;

/** One line per remembered setting that differs, for the plan and the report ("tools tsh,tctl"). */
export function settingsChanges(before: Settings, after: Settings): string[] {
  const lines: string[] = [];
  for (const key of SETTING_KEYS) {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    lines.push(after[key] === undefined ? `forget ${describeSetting(key, before[key]!)}` : describeSetting(key, after[key]!));
  }
  return lines;
}

export function describeSettings(s: Settings): string[] {
  return SETTING_KEYS.filter((k) => s[k] !== undefined).map((k) => describeSetting(k, s[k]!));
}

function describeSetting(key: keyof Settings, value: NonNullable<Settings[keyof Settings]>): string {
  switch (key) {
    case "tools":
      return `tools ${(value as string[]).join(",")}`;
    case "perCluster":
      return "one tsh per cluster (--per-cluster)";
    case "user":
      return `Teleport user ${value}`;
    case "login":
      return `SSH login ${value}`;
    case "pin":
      return `tsh ${value} pinned by tshup use (tshup --version V lifts it)`;
  }
}

function clean(s: Settings): Settings {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as Settings;
}
