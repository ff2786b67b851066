// Some bundled ESM dependencies read import.meta.url; in the CommonJS bundle it is this file's URL.
export const __tshup_import_meta_url = require("node:url").pathToFileURL(__filename).href;
