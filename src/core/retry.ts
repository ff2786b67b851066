/** One retry rule for every request: connection trouble, 408, 429 and 5xx are worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ERR_STREAM_PREMATURE_CLOSE",
  // The HTTP proxy's own upstream failed (a 5xx answer to CONNECT).
  "EPROXYUPSTREAM",
  "ETRUNCATED",
]);

export function isRetryableError(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/**
 * Exponential backoff with full jitter (a fleet retrying in step would hammer a recovering server),
 * or the server's Retry-After when it gave one, capped so a run never stalls for long.
 */
export function retryDelayMs(attempt: number, retryAfter: string | undefined, random: number, nowMs: number): number {
  const cap = 60_000;
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, cap);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.min(Math.max(0, date - nowMs), cap);
  }
  const ceiling = Math.min(250 * 2 ** attempt, 8000);
  return Math.round(ceiling / 2 + (random * ceiling) / 2);
}
