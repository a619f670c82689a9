/** Messages a supervised `serve` sends its `serve --supervise` parent over the IPC channel. */
export type SupervisedMessage = { readonly ttsCache: 'ready' } | { readonly ttsCache: 'heartbeat' }

export function isSupervisedMessage(value: unknown): value is SupervisedMessage {
  if (value === null || typeof value !== 'object') return false
  const kind = (value as { ttsCache?: unknown }).ttsCache
  return kind === 'ready' || kind === 'heartbeat'
}

/** How often the event loop beats for a watchdog of `watchdogMs` (five beats per window, 20 ms–1 s). */
export function beatIntervalMs(watchdogMs: number): number {
  return Math.min(1000, Math.max(20, Math.floor(watchdogMs / 5)))
}
