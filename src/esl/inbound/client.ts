import { connect as netConnect } from 'node:net'
import { TtsError, toTtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { backoffDelayMs, backoffOptions, type BackoffOptions } from './backoff.js'
import { authCommand, exitCommand } from '../codec/command.js'
import { EslConnection } from '../connection/connection.js'
import { ESL_DEFAULTS } from '../defaults.js'
import { parseEventFrame } from '../codec/event.js'
import type { EslFrame } from '../codec/frame.js'
import { observe } from '../observe.js'
import type { EslInboundClientOptions, EslInboundStatus } from './options.js'
import { authenticateAndSubscribe } from './handshake.js'
import type { EslInboundState } from '../ports.js'
import { PrewarmDispatcher } from './prewarm-events.js'
import { systemScheduler, type Scheduler } from '../connection/scheduler.js'

export type { EslInboundClientOptions, EslInboundStatus } from './options.js'

/**
 * The optional inbound connection to mod_event_socket: subscribes to CUSTOM
 * `tts_cache::prewarm` (pre-warm requests from dialplans and other apps) and HEARTBEAT.
 *
 * One attempt in flight at a time; after any failure or loss the next attempt waits a capped,
 * jittered exponential back-off (never zero: no reconnect storm after a FreeSWITCH restart or
 * with a wrong password). TCP keepalive, and a watchdog that reconnects when FreeSWITCH goes
 * silent. Every command has a timeout; pending replies are rejected when the socket closes.
 */
export class EslInboundClient {
  readonly #options: EslInboundClientOptions
  readonly #logger: Logger
  readonly #scheduler: Scheduler
  readonly #backoff: BackoffOptions
  readonly #random: () => number
  readonly #prewarm: PrewarmDispatcher
  #state: EslInboundState = 'disconnected'
  #started = false
  #stopped = false
  /** Set for the whole life of one attempt/connection: at most one exists at a time. */
  #connection: EslConnection | undefined
  #attempts = 0
  #failures = 0
  #connectedAt: number | undefined
  #lastError: TtsError | undefined
  #lastHeartbeatAt: number | undefined
  #retryAt: number | undefined
  #cancelRetry: (() => void) | undefined
  #cancelWatchdog: (() => void) | undefined

  constructor(options: EslInboundClientOptions) {
    if (options.host.length === 0) throw new TtsError('TTS_ERR_CONFIG', { args: ['esl inbound: host is empty'] })
    // Validates the password once (no CR/LF/control characters) without keeping the command.
    authCommand(options.password)
    this.#options = options
    this.#backoff = backoffOptions(options.backoff)
    this.#logger = options.logger.child({ component: 'esl', side: 'inbound', host: options.host, port: this.#port })
    this.#scheduler = options.scheduler ?? systemScheduler
    this.#random = options.random ?? Math.random
    this.#prewarm = new PrewarmDispatcher({
      prewarm: options.prewarm,
      logger: this.#logger,
      observer: options.observer,
      subclass: options.prewarmSubclass ?? ESL_DEFAULTS.prewarmSubclass,
      maxInFlight: options.maxPrewarmInFlight ?? ESL_DEFAULTS.maxPrewarmInFlight,
    })
  }

  get #port(): number {
    return this.#options.port ?? ESL_DEFAULTS.inboundPort
  }

  /** Starts connecting (idempotent). Failures are retried with back-off; watch state(). */
  start(): void {
    if (this.#started) return
    this.#started = true
    this.#stopped = false
    void this.#attempt()
  }

  /** Stops reconnecting, says `exit` if connected, closes. start() may be called again later. */
  async stop(): Promise<void> {
    this.#stopped = true
    this.#started = false
    this.#cancelRetry?.()
    this.#cancelRetry = undefined
    this.#retryAt = undefined
    this.#cancelWatchdog?.()
    const connection = this.#connection
    if (connection !== undefined) {
      if (this.#state === 'connected' && connection.isOpen) {
        await connection.send(exitCommand()).catch((err: unknown) => this.#logger.debug({ err }, 'exit on stop not acknowledged'))
      }
      connection.destroy()
      await connection.closed
    }
    this.#setState('disconnected')
  }

  state(): EslInboundStatus {
    const error = this.#lastError
    return {
      state: this.#state,
      lastError: error === undefined ? undefined : { code: error.code, message: error.message },
      attempts: this.#attempts,
      reconnects: Math.max(0, this.#attempts - 1),
      connectedAtMs: this.#state === 'connected' ? this.#connectedAt : undefined,
      nextAttemptInMs: this.#retryAt === undefined ? undefined : Math.max(0, this.#retryAt - this.#scheduler.now()),
      lastHeartbeatAtMs: this.#lastHeartbeatAt,
      prewarm: this.#prewarm.stats(),
    }
  }

  async #attempt(): Promise<void> {
    if (this.#stopped || this.#connection !== undefined) return
    this.#retryAt = undefined
    const attempt = ++this.#attempts
    if (attempt > 1) observe(this.#options.observer, this.#logger, 'reconnect')
    this.#setState('connecting')
    const { connection, banner } = this.#open()
    this.#connection = connection
    observe(this.#options.observer, this.#logger, 'connectionOpened', 'inbound')
    const cancelConnectTimer = this.#scheduler.schedule(this.#options.connectTimeoutMs ?? ESL_DEFAULTS.connectTimeoutMs, () =>
      connection.destroy(new TtsError('TTS_ERR_ESL_TIMEOUT', { args: ['connect and auth/request banner'] })),
    )
    try {
      await banner
      cancelConnectTimer()
      await authenticateAndSubscribe(connection, {
        password: this.#options.password,
        prewarmSubclass: this.#options.prewarmSubclass ?? ESL_DEFAULTS.prewarmSubclass,
        host: this.#options.host,
        port: this.#port,
      })
      this.#connectedAt = this.#scheduler.now()
      this.#setState('connected')
      this.#feedWatchdog(connection)
      this.#logger.info({ attempts: this.#attempts }, 'connected to FreeSWITCH event socket; listening for pre-warm events')
    } catch (err) {
      const error = toTtsError(err)
      if (this.#connection === connection) {
        connection.destroy(error)
      } else if (this.#attempts === attempt && this.#connection === undefined) {
        // Already closed (and a retry scheduled): keep the more precise reason.
        this.#lastError = error
        if (error.code === 'TTS_ERR_ESL_AUTH') this.#setState('auth-failed')
      }
    } finally {
      cancelConnectTimer()
    }
  }

  /** A new socket and its connection; `banner` resolves on auth/request, rejects if the socket closes first. */
  #open(): { connection: EslConnection; banner: Promise<void> } {
    const socket = netConnect({ host: this.#options.host, port: this.#port })
    socket.setNoDelay(true)
    socket.setKeepAlive(true, this.#options.keepAliveInitialDelayMs ?? ESL_DEFAULTS.keepAliveInitialDelayMs)
    let bannerSeen: () => void = () => undefined
    let bannerLost: (reason: TtsError) => void = () => undefined
    const banner = new Promise<void>((resolve, reject) => {
      bannerSeen = resolve
      bannerLost = reject
    })
    const connection: EslConnection = new EslConnection(socket, {
      side: 'inbound',
      scheduler: this.#scheduler,
      logger: this.#logger,
      limits: {
        maxHeaderBytes: this.#options.maxHeaderBytes ?? ESL_DEFAULTS.maxHeaderBytes,
        maxBodyBytes: this.#options.maxBodyBytes ?? ESL_DEFAULTS.maxBodyBytes,
      },
      commandTimeoutMs: this.#options.commandTimeoutMs ?? ESL_DEFAULTS.commandTimeoutMs,
      observer: this.#options.observer,
      handlers: {
        authRequest: () => bannerSeen(),
        frame: () => this.#feedWatchdog(connection),
        event: (frame) => this.#onEvent(frame),
        close: (reason) => {
          bannerLost(reason ?? new TtsError('TTS_ERR_ESL_CLOSED', { args: ['closed before the auth/request banner'] }))
          this.#onClosed(connection, reason)
        },
      },
    })
    return { connection, banner }
  }

  #onClosed(connection: EslConnection, reason: TtsError | undefined): void {
    if (this.#connection !== connection) return
    this.#connection = undefined
    this.#cancelWatchdog?.()
    this.#cancelWatchdog = undefined
    observe(this.#options.observer, this.#logger, 'connectionClosed', 'inbound')
    const now = this.#scheduler.now()
    const lived = this.#connectedAt === undefined ? 0 : now - this.#connectedAt
    const wasConnected = this.#state === 'connected'
    this.#connectedAt = undefined
    this.#lastError = reason ?? new TtsError('TTS_ERR_ESL_CLOSED', { args: ['FreeSWITCH closed the connection'] })
    if (this.#stopped) {
      this.#setState('disconnected')
      return
    }
    if (lived >= (this.#options.stableConnectionMs ?? ESL_DEFAULTS.stableConnectionMs)) this.#failures = 0
    this.#setState(this.#lastError.code === 'TTS_ERR_ESL_AUTH' ? 'auth-failed' : 'disconnected')
    const delayMs = backoffDelayMs(this.#failures, this.#backoff, this.#random)
    this.#failures++
    this.#retryAt = now + delayMs
    const fields = { code: this.#lastError.code, retryInMs: delayMs, attempts: this.#attempts }
    if (this.#lastError.code === 'TTS_ERR_ESL_AUTH') this.#logger.error(fields, 'FreeSWITCH rejected the event socket password (-ERR invalid); will retry')
    else if (wasConnected) this.#logger.warn({ ...fields, err: this.#lastError }, 'lost the FreeSWITCH event socket; reconnecting')
    else this.#logger.warn({ ...fields, err: this.#lastError }, 'could not connect to the FreeSWITCH event socket; will retry')
    this.#cancelRetry = this.#scheduler.schedule(delayMs, () => {
      this.#cancelRetry = undefined
      void this.#attempt()
    })
  }

  #feedWatchdog(connection: EslConnection): void {
    if (this.#connection !== connection || this.#state !== 'connected') return
    this.#cancelWatchdog?.()
    const timeoutMs = this.#options.heartbeatTimeoutMs ?? ESL_DEFAULTS.heartbeatTimeoutMs
    this.#cancelWatchdog = this.#scheduler.schedule(timeoutMs, () => {
      this.#logger.warn({ timeoutMs }, 'FreeSWITCH event socket silent (no HEARTBEAT); reconnecting')
      connection.destroy(new TtsError('TTS_ERR_ESL_TIMEOUT', { args: [`no HEARTBEAT or event within ${timeoutMs} ms`] }))
    })
  }

  #onEvent(frame: EslFrame): void {
    const parsed = parseEventFrame(frame)
    if (!parsed.ok) {
      this.#logger.warn({ reason: parsed.reason }, 'ignoring malformed event')
      return
    }
    if (parsed.event.name === 'HEARTBEAT') {
      this.#lastHeartbeatAt = this.#scheduler.now()
      return
    }
    if (!this.#prewarm.handle(parsed.event)) {
      this.#logger.debug({ event: parsed.event.name, subclass: parsed.event.subclass }, 'ignoring event')
    }
  }

  #setState(state: EslInboundState): void {
    if (this.#state === state) return
    this.#state = state
    observe(this.#options.observer, this.#logger, 'inboundState', state)
  }
}
