/**
 * The one polling wait of the test suite, for state that has no event to wait on (a count in
 * the broker, a file appearing): resolves with the probe's first value other than undefined, or
 * fails after `timeoutMs` naming what it waited for and the last value seen. Never a fixed sleep:
 * under load the wait simply takes longer, up to the deadline.
 */
export async function eventually<T>(probe: () => T | undefined, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadlineMs = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadlineMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Like eventually, for a predicate. */
export async function until(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  await eventually(() => (predicate() ? true : undefined), timeoutMs, what);
}

/** Short enough not to slow a test down, long enough not to busy the two shared cores. */
const POLL_MS = 10;
