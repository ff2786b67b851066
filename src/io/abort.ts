/**
 * What a run must undo if a signal ends it mid-way: its lock and the staging directories it made.
 * The cleanups are synchronous because the process exits right after them.
 */
const cleanups = new Set<() => void>();

/** Registers a cleanup; call the returned function once the work it guards is finished. */
export function onAbort(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function runAbortCleanups(): void {
  for (const c of [...cleanups].reverse()) {
    try {
      c();
    } catch {
      // The next run cleans what is left; exiting matters more now.
    }
  }
  cleanups.clear();
}
