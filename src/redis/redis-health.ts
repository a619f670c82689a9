/**
 * Notices a Redis that keeps its connections open but stops answering (frozen, SIGSTOPped,
 * partitioned with the socket half-open, stuck in a slow script): the client still says `ready`,
 * so the connection state alone cannot tell. A probe command runs every `intervalMs` on each
 * connected client; a reply that does not come within `timeoutMs` — or any command of the render
 * path timing out (`reportTimeout`) — marks Redis unresponsive at once. A probe answered, or a
 * connection that becomes ready again (its ready check is a reply), marks it responsive.
 *
 * Only timeouts count: a probe that fails because the connection closed says nothing about
 * responsiveness (the connection state covers that).
 */
import type { Logger } from '../core/ports/index.js'
import { isClientReady, type RedisClient } from './redis-connections.js'
import { isCommandTimeout, redisErrorForLog } from './redis-errors.js'

export interface RedisHealthOptions {
  /** The clients to watch (queue and audio; the same client once when they are one). */
  readonly clients: readonly RedisClient[]
  /** The probe for one client: PING, or a read in the queue's hash slot on a Redis Cluster. */
  readonly probe: (client: RedisClient) => Promise<unknown>
  /** How long a probe may wait for its reply (config redisCommandTimeoutMs). */
  readonly timeoutMs: number
  /** Pause between the end of one probe and the start of the next. */
  readonly intervalMs: number
  readonly logger: Logger
}

type ProbeOutcome = 'ok' | 'timeout' | 'skipped'

export class RedisHealth {
  readonly #options: RedisHealthOptions
  readonly #log: Logger
  readonly #changeListeners = new Set<(responsive: boolean) => void>()
  readonly #probeListeners = new Set<(ok: boolean) => void>()
  #responsive = true
  /** Bumped whenever a connection (re)connects: results of probes started before are stale. */
  #epoch = 0
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #unresponsiveSince: number | undefined

  constructor(options: RedisHealthOptions) {
    this.#options = options
    this.#log = options.logger
    for (const client of new Set(options.clients)) {
      client.on('ready', () => {
        this.#epoch++
        this.#set(true, 'connection ready')
      })
    }
  }

  /** False from a timed-out probe or command until Redis answers again. */
  get responsive(): boolean {
    return this.#responsive
  }

  /** Calls `listener` on each change of `responsive`; returns the unsubscribe function. */
  onChange(listener: (responsive: boolean) => void): () => void {
    this.#changeListeners.add(listener)
    return () => this.#changeListeners.delete(listener)
  }

  /** Calls `listener` after each probe that ran (`ok` false: it timed out); returns the unsubscribe function. */
  onProbe(listener: (ok: boolean) => void): () => void {
    this.#probeListeners.add(listener)
    return () => this.#probeListeners.delete(listener)
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined) return
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** A command elsewhere got no reply within its timeout: as good as a failed probe. */
  reportTimeout(err: unknown): void {
    if (isCommandTimeout(err)) this.#set(false, 'a command timed out')
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#probeAll().then(() => this.#schedule())
    }, this.#options.intervalMs)
    this.#timer.unref()
  }

  async #probeAll(): Promise<void> {
    const epoch = this.#epoch
    const outcomes = await Promise.all([...new Set(this.#options.clients)].map((client) => this.#probeOne(client)))
    if (this.#stopped || epoch !== this.#epoch) return
    if (outcomes.every((o) => o === 'skipped')) return
    const ok = !outcomes.includes('timeout')
    this.#set(ok, ok ? 'probe answered' : `no reply to a probe within ${this.#options.timeoutMs} ms`)
    for (const listener of this.#probeListeners) listener(ok)
  }

  async #probeOne(client: RedisClient): Promise<ProbeOutcome> {
    if (!isClientReady(client)) return 'skipped'
    let timer: NodeJS.Timeout | undefined
    const probe = this.#options.probe(client)
    const late = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#options.timeoutMs)
      timer.unref()
    })
    try {
      const outcome = await Promise.race([probe.then(() => 'ok' as const), late])
      if (outcome === 'timeout') probe.catch(() => undefined)
      return outcome
    } catch (err) {
      if (isCommandTimeout(err)) return 'timeout'
      this.#log.debug({ err: redisErrorForLog(err) }, 'redis probe failed')
      return 'skipped'
    } finally {
      clearTimeout(timer)
    }
  }

  #set(responsive: boolean, reason: string): void {
    if (responsive === this.#responsive) return
    this.#responsive = responsive
    if (!responsive) {
      this.#unresponsiveSince = Date.now()
      this.#log.warn({ reason }, 'redis is not answering (connection open): treating it as unavailable')
    } else {
      const silentMs = this.#unresponsiveSince === undefined ? undefined : Date.now() - this.#unresponsiveSince
      this.#unresponsiveSince = undefined
      this.#log.info({ reason, silentMs }, 'redis answers again')
    }
    for (const listener of this.#changeListeners) {
      try {
        listener(responsive)
      } catch (err) {
        this.#log.error({ err }, 'redis health listener threw')
      }
    }
  }
}
