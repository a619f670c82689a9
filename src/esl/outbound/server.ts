import { createServer, type Server, type Socket } from 'node:net'
import { listenAcceptGroup, type AcceptGroup } from '../../net/accept-group.js'
import { TtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { ESL_DEFAULTS } from '../defaults.js'
import { observe } from '../observe.js'
import type { EslCallLogLevel } from './call-log.js'
import { OutboundSession, type OutboundSessionConfig, type SessionPhase } from './session.js'
import { ESL_CALL_STATUSES, type EslCallStatus, type EslObserver, type EslTtsService } from '../ports.js'
import { ProtocolErrorLog } from '../connection/protocol-error-log.js'
import { systemScheduler, type Scheduler } from '../connection/scheduler.js'
import { DeniedPeerLog, type EslAllowList } from '../allow-list.js'
import { peerOf } from '../connection/protocol-error-log.js'

export interface EslOutboundServerOptions {
  /** TTS_ESL_HOST. Keep it on loopback or a private network: the hook has no authentication. */
  readonly host: string
  /** TTS_ESL_PORT; 0 picks a free port (tests). */
  readonly port: number
  /** Deadline when the channel sets no tts_cache_deadline_ms. Must be ≤ maxDeadlineMs. */
  readonly defaultDeadlineMs: number
  /** tts_cache_deadline_ms is clamped to this. */
  readonly maxDeadlineMs: number
  readonly service: EslTtsService
  readonly logger: Logger
  readonly observer?: EslObserver | undefined
  readonly connectTimeoutMs?: number | undefined
  readonly commandTimeoutMs?: number | undefined
  readonly closeTimeoutMs?: number | undefined
  /** Sessions beyond this are closed at once (FreeSWITCH then plays the preset fallback). */
  readonly maxConnections?: number | undefined
  readonly maxHeaderBytes?: number | undefined
  readonly maxBodyBytes?: number | undefined
  /** false: one command per round trip, exactly as in the captures (default true). */
  readonly pipeline?: boolean | undefined
  /** Injected timers (tests drive deadlines with a manual clock). */
  readonly scheduler?: Scheduler | undefined
  /** TTS_ESL_CALL_LOG: the level of the one line per call, or `off` (default `info`). */
  readonly callLog?: EslCallLogLevel | undefined
  /** TTS_ESL_ALLOW: peers outside it are closed at once, logged and counted (default: everyone). */
  readonly allow?: EslAllowList | undefined
  /** TTS_ACCEPT_SOCKETS: listening sockets for the port, a SO_REUSEPORT group (src/net/accept-group.ts). */
  readonly acceptSockets?: number | undefined
}

export interface EslOutboundStats {
  readonly listening: boolean
  /** Sessions open now, by phase. */
  readonly active: number
  readonly waiting: number
  readonly accepted: number
  readonly rejected: number
  readonly completed: number
  /** Calls by the tts_cache_status they got (or would have got, for hangups). */
  readonly byStatus: Readonly<Record<EslCallStatus, number>>
  /** Calls whose channel was gone before the variables were written. */
  readonly hangups: number
  /** Calls where FreeSWITCH did not acknowledge every variable. */
  readonly undelivered: number
}

/**
 * The per-call `tts_cache` hook: a TCP server for FreeSWITCH's `socket` application
 * (outbound ESL). One {@link OutboundSession} per connection; see docs/esl.md for the contract.
 * `close(graceMs)` stops accepting, lets calls finish (bounded), then answers the rest with
 * status `error` and closes them.
 */
export class EslOutboundServer {
  readonly #options: EslOutboundServerOptions
  readonly #logger: Logger
  readonly #scheduler: Scheduler
  /** The same for every call: built once, not per connection. */
  readonly #sessionConfig: OutboundSessionConfig
  readonly #sessions = new Set<OutboundSession>()
  readonly #byStatus: Record<EslCallStatus, number> = { hit: 0, rendered: 0, coalesced: 0, timeout: 0, error: 0 }
  #server: Server | undefined
  #group: AcceptGroup | undefined
  readonly #denied: DeniedPeerLog | undefined
  #accepted = 0
  #rejected = 0
  #completed = 0
  #hangups = 0
  #undelivered = 0

  constructor(options: EslOutboundServerOptions) {
    const problems: string[] = []
    const positive = (name: string, value: number | undefined): void => {
      if (value !== undefined && (!Number.isSafeInteger(value) || value <= 0)) problems.push(`${name} must be a positive integer`)
    }
    positive('maxDeadlineMs', options.maxDeadlineMs)
    positive('connectTimeoutMs', options.connectTimeoutMs)
    positive('commandTimeoutMs', options.commandTimeoutMs)
    positive('closeTimeoutMs', options.closeTimeoutMs)
    positive('maxConnections', options.maxConnections)
    positive('maxHeaderBytes', options.maxHeaderBytes)
    positive('maxBodyBytes', options.maxBodyBytes)
    if (!Number.isSafeInteger(options.defaultDeadlineMs) || options.defaultDeadlineMs < 0) {
      problems.push('defaultDeadlineMs must be a non-negative integer')
    } else if (options.defaultDeadlineMs > options.maxDeadlineMs) {
      problems.push('defaultDeadlineMs must not exceed maxDeadlineMs')
    }
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) problems.push('port must be 0-65535')
    if (problems.length > 0) throw new TtsError('TTS_ERR_CONFIG', { args: [`esl outbound: ${problems.join('; ')}`] })
    this.#options = options
    this.#logger = options.logger.child({ component: 'esl', side: 'outbound' })
    this.#scheduler = options.scheduler ?? systemScheduler
    const scheduler = this.#scheduler
    this.#denied = options.allow && new DeniedPeerLog(this.#logger, () => scheduler.now(), options.allow.spec)
    this.#sessionConfig = Object.freeze({
      service: options.service,
      logger: this.#logger,
      scheduler: this.#scheduler,
      observer: options.observer,
      protocolErrors: new ProtocolErrorLog(this.#logger, this.#scheduler),
      limits: Object.freeze({
        maxHeaderBytes: options.maxHeaderBytes ?? ESL_DEFAULTS.maxHeaderBytes,
        maxBodyBytes: options.maxBodyBytes ?? ESL_DEFAULTS.maxBodyBytes,
      }),
      connectTimeoutMs: options.connectTimeoutMs ?? ESL_DEFAULTS.connectTimeoutMs,
      commandTimeoutMs: options.commandTimeoutMs ?? ESL_DEFAULTS.commandTimeoutMs,
      closeTimeoutMs: options.closeTimeoutMs ?? ESL_DEFAULTS.closeTimeoutMs,
      defaultDeadlineMs: options.defaultDeadlineMs,
      maxDeadlineMs: options.maxDeadlineMs,
      pipeline: options.pipeline ?? ESL_DEFAULTS.pipeline,
      callLog: options.callLog ?? ESL_DEFAULTS.callLog,
    })
  }

  /** Starts listening. Resolves with the bound port (useful with port 0). */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.#server !== undefined) throw new TtsError('TTS_ERR_INTERNAL', { args: ['already listening'] })
    const server = createServer({ noDelay: true }, (socket) => this.#onConnection(socket))
    this.#server = server
    const { host, port } = this.#options
    try {
      this.#group = await listenAcceptGroup(server, { host, port, sockets: this.#options.acceptSockets ?? ESL_DEFAULTS.acceptSockets, noDelay: true })
    } catch (err) {
      this.#server = undefined
      server.close()
      throw new TtsError('TTS_ERR_CONFIG', { cause: err, args: [`cannot listen on ${host}:${port}: ${(err as Error).message}`] })
    }
    server.on('error', (err) => this.#logger.error({ err }, 'outbound ESL server error'))
    const bound = this.#group.port
    this.#logger.info({ host, port: bound, acceptSockets: this.#group.sockets }, 'tts_cache hook listening for FreeSWITCH socket()')
    return { host, port: bound }
  }

  /**
   * Stops accepting at once (FreeSWITCH's socket() then fails immediately and the macro plays
   * its fallback), waits up to `graceMs` for calls in progress, then answers the rest with
   * status `error` (bounded by the command timeout) and closes them.
   */
  async close(graceMs: number = ESL_DEFAULTS.closeTimeoutMs): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    // Every socket of the group stops accepting now; each resolves once its connections are gone.
    const closed = Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), this.#group?.close()])
    this.#group = undefined
    await this.#settleWithin([...this.#sessions].map((s) => s.done), graceMs)
    if (this.#sessions.size > 0) {
      this.#logger.warn({ sessions: this.#sessions.size }, 'closing tts_cache calls still in progress with the fallback')
      for (const session of this.#sessions) session.abort()
      const commandTimeoutMs = this.#options.commandTimeoutMs ?? ESL_DEFAULTS.commandTimeoutMs
      await this.#settleWithin([...this.#sessions].map((s) => s.done), commandTimeoutMs * 4)
      for (const session of this.#sessions) session.destroy()
    }
    await closed
    this.#logger.info({}, 'tts_cache hook closed')
  }

  stats(): EslOutboundStats {
    let waiting = 0
    for (const session of this.#sessions) if (session.phase === ('waiting' satisfies SessionPhase)) waiting++
    return {
      listening: this.#server !== undefined,
      active: this.#sessions.size,
      waiting,
      accepted: this.#accepted,
      rejected: this.#rejected,
      completed: this.#completed,
      byStatus: { ...this.#byStatus },
      hangups: this.#hangups,
      undelivered: this.#undelivered,
    }
  }

  #onConnection(socket: Socket): void {
    if (this.#options.allow?.allows(socket.remoteAddress) === false) {
      this.#denied?.report(peerOf(socket))
      observe(this.#options.observer, this.#logger, 'connectionDenied', 'outbound')
      socket.on('error', (err) => this.#logger.debug({ err }, 'denied socket error'))
      socket.destroy()
      return
    }
    const max = this.#options.maxConnections ?? ESL_DEFAULTS.maxConnections
    if (this.#sessions.size >= max) {
      this.#rejected++
      this.#logger.warn({ max }, 'too many tts_cache calls in progress; closing the new one (fallback plays)')
      socket.on('error', (err) => this.#logger.debug({ err }, 'rejected socket error'))
      socket.destroy()
      return
    }
    this.#accepted++
    observe(this.#options.observer, this.#logger, 'connectionOpened', 'outbound')
    const session = new OutboundSession(socket, this.#sessionConfig)
    this.#sessions.add(session)
    void session.done.then((outcome) => {
      this.#sessions.delete(session)
      this.#completed++
      if (ESL_CALL_STATUSES.includes(outcome.status)) this.#byStatus[outcome.status]++
      if (outcome.hungUp) this.#hangups++
      else if (!outcome.delivered) this.#undelivered++
      observe(this.#options.observer, this.#logger, 'callResult', outcome)
      observe(this.#options.observer, this.#logger, 'connectionClosed', 'outbound')
    })
  }

  async #settleWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
    if (promises.length === 0) return
    let cancel: (() => void) | undefined
    await Promise.race([
      Promise.allSettled(promises),
      new Promise<void>((resolve) => {
        cancel = this.#scheduler.schedule(ms, resolve)
      }),
    ])
    cancel?.()
  }
}
