/** One retry rule for every request: connection trouble, 408, 429 and 5xx are worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The retryable connection errors, each with the few words a retry line gives as its reason. */
const RETRYABLE_CODES = new Map([
  ["ECONNRESET", "connection reset"],
  ["ECONNREFUSED", "connection refused"],
  ["ECONNABORTED", "connection aborted"],
  ["ETIMEDOUT", "timed out"],
  ["EPIPE", "connection broken"],
  ["EAI_AGAIN", "name lookup failed"],
  ["ENETUNREACH", "network unreachable"],
  ["EHOSTUNREACH", "host unreachable"],
  ["ERR_STREAM_PREMATURE_CLOSE", "connection closed early"],
  // The HTTP proxy's own upstream failed (a 5xx answer to CONNECT).
  ["EPROXYUPSTREAM", "the HTTP proxy's upstream failed"],
  ["ETRUNCATED", "connection cut"],
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

/**
 * What an attempt ended with, as the rule reads it: an answer's status, or a failure's connection
 * error code (`retryCode`) or status (`retryStatus`), and the server's Retry-After.
 */
export interface Outcome {
  status?: number;
  retryStatus?: number;
  retryCode?: string;
  retryAfter?: string;
}

/** Why an outcome is worth another try, in a few words, or null when it is not. */
export function retryReason(o: Outcome): string | null {
  const status = o.status ?? o.retryStatus;
  if (status !== undefined && isRetryableStatus(status)) return `HTTP ${status}`;
  return (o.retryCode !== undefined && RETRYABLE_CODES.get(o.retryCode)) || null;
}

export interface RetryNotice {
  url: string;
  /** The attempt about to be made, from 2, and how many there may be in all. */
  attempt: number;
  attempts: number;
  delayMs: number;
  reason: string;
  /** The failure's own message, for --verbose. */
  detail: string;
}

/** The world a retry loop needs, injected: how often, the clock, sleeping, and whom to tell. */
export interface RetryPolicy {
  retries: number;
  random(): number;
  now(): number;
  sleep(ms: number): Promise<void>;
  onRetry(notice: RetryNotice): void;
}

/**
 * The one retry loop. `attempt` either returns an answer or throws; an answer whose status the rule
 * retries (`answerOf` says what it was) is tried again, and returned as it is once the retries are
 * spent; a failure the rule retries is tried again, and thrown once they are spent. Each retry is
 * announced once, here.
 */
export async function retrying<T>(policy: RetryPolicy, url: string, attempt: (n: number) => Promise<T>, answerOf?: (answer: T) => Outcome): Promise<T> {
  for (let n = 0; ; n++) {
    let reason: string | null;
    let retryAfter: string | undefined;
    let detail: string;
    try {
      const answer = await attempt(n);
      const outcome = answerOf?.(answer);
      reason = outcome ? retryReason(outcome) : null;
      if (reason === null || n >= policy.retries) return answer;
      retryAfter = outcome?.retryAfter;
      detail = `${url} answered ${reason}`;
    } catch (err) {
      // A failure speaks only through the fields made for the rule, never a `status` of its own.
      const { retryCode, retryStatus } = (err ?? {}) as Outcome;
      const outcome: Outcome = { retryCode, retryStatus, retryAfter: (err as Outcome | null)?.retryAfter };
      reason = retryReason(outcome);
      if (reason === null || n >= policy.retries) throw err;
      retryAfter = outcome.retryAfter;
      detail = (err as Error).message ?? String(err);
    }
    const delayMs = retryDelayMs(n, retryAfter, policy.random(), policy.now());
    policy.onRetry({ url, attempt: n + 2, attempts: policy.retries + 1, delayMs, reason, detail });
    await policy.sleep(delayMs);
  }
}
