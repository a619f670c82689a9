import { Counter, Gauge, type Registry } from 'prom-client'
import type { QueueStats, StoreStats } from '../core/ports/index.js'

/** Anything with a synchronous `stats()` — the AudioStore and RenderQueue ports fit. */
export interface StatsSource<S> {
  stats(): S
}

/**
 * The `tts_cache_*` metrics, read from the store at scrape time (`read` returns undefined
 * when no store is watched or it fails: the metrics keep their last values).
 */
export function registerStoreGauges(registers: Registry[], read: () => StoreStats | undefined): void {
  const gauge = scrapeGauge(registers, read)
  gauge('tts_cache_bytes', 'Bytes of WAV audio in the cache', (s) => s.bytes)
  gauge('tts_cache_entries', 'Entries (WAV files) in the cache', (s) => s.entries)
  gauge('tts_cache_pinned_entries', 'Pinned entries (never evicted)', (s) => s.pinnedEntries)
  gauge('tts_cache_pinned_bytes', 'Bytes of pinned entries', (s) => s.pinnedBytes)
  gauge('tts_cache_max_bytes', 'Configured cache size limit in bytes', (s) => s.maxBytes)
  // The store keeps a running count; the counter follows it at scrape time.
  let seen = 0
  new Counter({
    name: 'tts_cache_evictions_total',
    help: 'Entries evicted by the size or age limit',
    registers,
    collect(): void {
      const stats = read()
      if (stats === undefined) return
      if (stats.evictions > seen) this.inc(stats.evictions - seen)
      seen = stats.evictions
    },
  })
  const staleSeen = new Map<string, number>()
  new Counter({
    name: 'tts_cache_stale_total',
    help: 'Index entries whose WAV was found deleted, truncated or replaced behind the service (reason: missing, size, replaced, unreadable); each was answered as a miss, not a hit',
    labelNames: ['reason'] as const,
    registers,
    collect(): void {
      const stale = read()?.stale
      if (stale === undefined) return
      for (const [reason, count] of Object.entries(stale)) {
        const before = staleSeen.get(reason) ?? 0
        // inc(0) makes every reason visible from the first scrape.
        this.inc({ reason }, Math.max(0, count - before))
        staleSeen.set(reason, count)
      }
    },
  })
}

/** The `tts_queue_*` metrics, read from the render queue at scrape time. */
export function registerQueueGauges(registers: Registry[], read: () => QueueStats | undefined): void {
  new Gauge({
    name: 'tts_queue_depth',
    help: 'Render jobs in the queue by state (waiting for a worker, active)',
    labelNames: ['state'] as const,
    registers,
    collect(): void {
      const stats = read()
      if (stats === undefined) return
      this.set({ state: 'waiting' }, stats.waiting)
      this.set({ state: 'active' }, stats.active)
    },
  })
  const gauge = scrapeGauge(registers, read)
  gauge('tts_queue_concurrency', 'Renders that may run at once', (s) => s.concurrency)
  gauge('tts_queue_limit', 'Waiting jobs allowed before new work is refused with TTS_ERR_OVERLOADED', (s) => s.limit)
  gauge('tts_queue_drain_per_second', 'Recent render completions per second (basis of Retry-After)', (s) => s.drainPerSecond)
}

/** A factory of unlabelled gauges that read one field of `read()` at scrape time (kept as is when undefined). */
function scrapeGauge<S>(registers: Registry[], read: () => S | undefined): (name: string, help: string, pick: (s: S) => number) => void {
  return (name, help, pick) => {
    new Gauge({
      name,
      help,
      registers,
      collect(): void {
        const stats = read()
        if (stats !== undefined) this.set(pick(stats))
      },
    })
  }
}
