import type { Command, Flag } from "../../src/commandline.js";

/** The contract, written out rather than read from the table it checks. */
export const OWN_FLAGS: Record<Command, Flag[]> = {
  install: ["proxy", "manifest", "version", "cdn-url", "edition", "tools", "prefix", "no-modify-path", "no-config", "user", "login", "yes", "dry-run", "insecure", "ca-file", "timeout", "keep", "force", "per-cluster", "no-per-cluster", "allow-http-mirror", "jitter", "json", "quiet", "verbose", "help"],
  status: ["proxy", "manifest", "version", "edition", "force", "per-cluster", "prefix", "insecure", "ca-file", "timeout", "json", "quiet", "verbose", "help"],
  list: ["prefix", "json", "quiet", "verbose", "help"],
  use: ["prefix", "dry-run", "json", "quiet", "verbose", "help"],
  uninstall: ["prefix", "yes", "dry-run", "json", "quiet", "verbose", "help"],
  doctor: ["proxy", "manifest", "user", "per-cluster", "prefix", "insecure", "ca-file", "timeout", "json", "quiet", "verbose", "help"],
  mirror: ["version", "platforms", "edition", "cdn-url", "manifest", "allow-http-mirror", "dry-run", "ca-file", "timeout", "json", "quiet", "verbose", "help"],
  completions: ["help"],
  "self install": ["prefix", "no-modify-path", "force", "dry-run", "json", "quiet", "verbose", "help"],
  "self update": ["manifest", "force", "dry-run", "ca-file", "timeout", "json", "quiet", "verbose", "help"],
};
