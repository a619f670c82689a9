/**
 * Waits until `predicate()` holds, yielding to the event loop between checks. It never asserts
 * on how long that took; `limitMs` only turns a hang into a readable failure.
 */
export async function waitFor(predicate: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const started = Date.now()
  while (!predicate()) {
    if (Date.now() - started > limitMs) throw new Error(`gave up waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** Lets pending I/O callbacks and microtasks run (a few event-loop turns). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve))
}
