// The one-line installers `npm run dist` writes beside the executables (dist/bin/install.sh and
// install.ps1), from the templates in scripts/bootstrap/: the same scripts for every site, with
// the site's base URL (the manifest's self_update.base_url) filled in when it has one.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "bootstrap");

/** Quoted for the script's own language: nothing in a URL can end the string or expand. */
const QUOTE = {
  "install.sh": (s) => `'${s.replace(/'/g, `'\\''`)}'`,
  "install.ps1": (s) => `'${s.replace(/'/g, "''")}'`,
};
const PLACEHOLDER = {
  "install.sh": "baked_base_url=''",
  "install.ps1": "$bakedBaseUrl = ''",
};

/** `name` (install.sh or install.ps1) with `baseUrl` built in, or as it is for null. */
export function renderBootstrap(name, baseUrl) {
  const text = readFileSync(path.join(dir, name), "utf8");
  const placeholder = PLACEHOLDER[name];
  if (text.split(placeholder).length !== 2) throw new Error(`scripts/bootstrap/${name} must hold the line ${placeholder} exactly once`);
  if (baseUrl === null) return text;
  return text.replace(placeholder, () => placeholder.replace("''", QUOTE[name](baseUrl)));
}

export const BOOTSTRAP_NAMES = Object.keys(PLACEHOLDER);
