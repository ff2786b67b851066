// Replaced at bundle time by scripts/build.mjs; the fallbacks serve runs from source (tests via tsx).
declare const TSHUP_VERSION: string | undefined;
declare const TSHUP_COMMIT: string | undefined;
declare const TSHUP_EMBEDDED_MANIFEST: string | null | undefined;

export const VERSION = typeof TSHUP_VERSION === "string" ? TSHUP_VERSION : "0.0.0-dev";
export const COMMIT = typeof TSHUP_COMMIT === "string" ? TSHUP_COMMIT : "source";
/** A site's manifest text built into its branded binary (`npm run dist -- --manifest FILE`). */
export const EMBEDDED_MANIFEST: string | null =
  typeof TSHUP_EMBEDDED_MANIFEST === "string" ? TSHUP_EMBEDDED_MANIFEST : null;
