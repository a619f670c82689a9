import type { Socket } from 'node:net'
import { TtsError, toTtsError, type ErrorCode } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { parseChannelData, type ChannelData } from '../codec/channel-data.js'
import { connectCommand } from '../codec/command.js'
import type { FrameLimits } from '../codec/frame-parser.js'
import { EslConnection } from '../connection/connection.js'
import type { ProtocolErrorLog } from '../connection/protocol-error-log.js'
import type { Scheduler } from '../connection/scheduler.js'
import { observe } from '../observe.js'
import type { EslCallOutcome, EslObserver, EslTtsService } from '../ports.js'
import { answerOf, callOutcome, channelVariablesOf, errorAnswer, failedAnswer, type Answer } from './answer.js'
import { awaitPeerClose } from './await-peer-close.js'
import { deadlineFor, readInput, resolveInput, textNeedsVerbatimRead } from './call-input.js'
import { logCall, type EslCallLogLevel } from './call-log.js'
import { deliverVariables } from './deliver-variables.js'
import { LazyChildLogger } from './lazy-logger.js'
import { readVerbatimText } from './verbatim-text.js'
import { waitForAudio } from './wait-for-audio.js'

export interface OutboundSessionConfig {
  readonly service: EslTtsService
  readonly logger: Logger
  readonly scheduler: Scheduler
  readonly observer: EslObserver | undefined
  /** Malformed input from FreeSWITCH, logged one line each (bursts summed up) for all sessions. */
  readonly protocolErrors?: ProtocolErrorLog | undefined
  readonly limits: FrameLimits
  readonly connectTimeoutMs: number
  readonly commandTimeoutMs: number
  readonly closeTimeoutMs: number
  readonly defaultDeadlineMs: number
  readonly maxDeadlineMs: number
  readonly pipeline: boolean
  /** TTS_ESL_CALL_LOG: see logCall. */
  readonly callLog: EslCallLogLevel
}

export type SessionPhase = 'connecting' | 'waiting' | 'delivering' | 'closing' | 'done'

/**
 * One call through the `tts_cache` hook: FreeSWITCH's `socket` app connected to us.
 *
 *   connect → CHANNEL_DATA (tts_cache_text, tts_cache_voice, tts_cache_engine, tts_cache_rate,
 *   tts_cache_deadline_ms) [→ getvar tts_cache_text when its URL encoding is ambiguous]
 *   → TtsService.hit (a cached file, answered at once), else TtsService.getAfterMiss (keepAlive,
 *   aborted at the deadline or on hangup)
 *   → tts_file / tts_cache_status / tts_cache_key → exit → FreeSWITCH closes.
 *
 * Every step is bounded (connect-phase timeout, the deadline, per-reply timeouts, a close
 * timeout), so a call never waits longer than its deadline because of us. On `timeout` and
 * `error` tts_file is left alone (the macro preset a fallback) and only the status (and the
 * key when known) is written. After a hangup nothing is written; the render goes on and is
 * cached. `done` never rejects.
 */
export class OutboundSession {
  readonly done: Promise<EslCallOutcome>
  readonly #config: OutboundSessionConfig
  readonly #connection: EslConnection
  readonly #started: number
  #log: Logger
  #phase: SessionPhase = 'connecting'
  #hungUp = false
  #connectError: ErrorCode | undefined
  /** When the CHANNEL_DATA bytes arrived (see EslObserver.answered). */
  #channelDataAt = 0
  #abortWait: ((reason: TtsError) => void) | undefined

  constructor(socket: Socket, config: OutboundSessionConfig) {
    this.#config = config
    this.#log = config.logger
    this.#started = config.scheduler.now()
    socket.setNoDelay(true)
    this.#connection = new EslConnection(socket, {
      side: 'outbound',
      scheduler: config.scheduler,
      logger: config.logger,
      limits: config.limits,
      commandTimeoutMs: config.commandTimeoutMs,
      observer: config.observer,
      protocolErrors: config.protocolErrors,
      handlers: {
        // FreeSWITCH sends this at once when the caller hangs up (then FIN), and after our exit.
        disconnectNotice: () => this.#onDisconnectNotice(),
        // undefined / ESL_CLOSED: the peer went away; anything else: we closed (timeout, bad data).
        close: (reason) => this.#onChannelGone(reason === undefined || reason.code === 'TTS_ERR_ESL_CLOSED'),
      },
    })
    this.done = this.#run().catch((err: unknown) => {
      // #run handles its own errors; this is the last line of defence.
      this.#log.error({ err }, 'outbound session failed')
      this.#connection.destroy()
      return this.#outcome(undefined, errorAnswer(toTtsError(err).code), false)
    })
  }

  get phase(): SessionPhase {
    return this.#phase
  }

  /** Server shutdown: stop waiting for audio now; the call gets status `error` and `exit`. */
  abort(): void {
    if (this.#phase === 'connecting') this.#connection.destroy()
    this.#abortWait?.(new TtsError('TTS_ERR_SHUTTING_DOWN'))
  }

  /** Close the socket now (FreeSWITCH continues the macro with whatever tts_file holds). */
  destroy(): void {
    this.#abortWait?.(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    this.#connection.destroy()
  }

  async #run(): Promise<EslCallOutcome> {
    const data = await this.#connect()
    if (data === undefined) {
      this.#phase = 'done'
      const code = this.#hungUp ? 'TTS_ERR_ESL_CLOSED' : (this.#connectError ?? 'TTS_ERR_ESL_PROTOCOL')
      return this.#outcome(undefined, errorAnswer(code), false)
    }
    // Created only if this call logs something (most log nothing at info level).
    this.#log = new LazyChildLogger(this.#config.logger, { uuid: data.uuid })
    this.#phase = 'waiting'
    const answer = await this.#answer(data)
    if (this.#hungUp || !this.#connection.isOpen) {
      // A `linger` notice leaves the socket open: nothing more to say on it.
      this.#connection.destroy()
      this.#phase = 'done'
      return this.#logged(data.uuid, this.#outcome(data.uuid, answer, false), true)
    }
    this.#phase = 'delivering'
    // deliverVariables hands its first write to the socket before it returns the promise.
    const delivering = deliverVariables(this.#connection, data, channelVariablesOf(answer), {
      pipeline: this.#config.pipeline,
      logger: this.#log,
    })
    const serviceSeconds = (this.#config.scheduler.now() - this.#channelDataAt) / 1000
    observe(this.#config.observer, this.#log, 'answered', answer.status, serviceSeconds)
    const delivered = await delivering
    this.#phase = 'closing'
    await awaitPeerClose(this.#connection, this.#config.scheduler, this.#config.closeTimeoutMs)
    this.#phase = 'done'
    return this.#logged(data.uuid, this.#outcome(data.uuid, answer, delivered), false)
  }

  /**
   * Sends `connect` and waits for CHANNEL_DATA, at most connectTimeoutMs (the reply timeout of
   * the `connect` command; it closes the socket). undefined: the session is over.
   */
  async #connect(): Promise<ChannelData | undefined> {
    try {
      const reply = await this.#connection.send(connectCommand(), this.#config.connectTimeoutMs)
      this.#channelDataAt = this.#connection.lastReplyReceivedAt
      const parsed = parseChannelData(reply)
      if (!parsed.ok) {
        const error = new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [parsed.reason] })
        this.#connection.reportProtocolError(error, 'malformed CHANNEL_DATA; closing')
        this.#connection.destroy(error)
        return undefined
      }
      return parsed.data
    } catch (err) {
      const error = toTtsError(err)
      if (error.code === 'TTS_ERR_ESL_TIMEOUT') this.#connectError = error.code
      this.#log.debug({ err: error }, 'outbound connection ended before CHANNEL_DATA')
      return undefined
    }
  }

  async #answer(data: ChannelData): Promise<Answer> {
    const deadline = deadlineFor(data, this.#config.defaultDeadlineMs, this.#config.maxDeadlineMs)
    if (deadline.invalid !== undefined) this.#log.warn({ value: deadline.invalid }, 'ignoring invalid tts_cache_deadline_ms')
    const deadlineMs = deadline.ms
    let verbatim: string | undefined
    if (textNeedsVerbatimRead(data)) {
      const read = await this.#readVerbatimText(data, deadlineMs)
      if (read instanceof TtsError) return failedAnswer(read.code)
      verbatim = read
    }
    const input = readInput(data, verbatim)
    if (input instanceof TtsError) return { status: 'error', key: undefined, path: undefined, code: input.code }
    const service = this.#config.service
    const resolved = resolveInput(service, input, this.#log)
    // A hit answers now, as the HTTP hit does (service.hit: the index, the file's stat, counted
    // as get counts one): no abort signal, deadline timer or promise chain for the common call.
    // A caller already gone takes the wait's path, which gives up at once.
    if (resolved !== undefined && !this.#hungUp) {
      const hit = service.hit(resolved, 'esl')
      if (hit !== undefined) return answerOf(hit, this.#log)
    }
    const wait = waitForAudio((options) => (resolved === undefined ? service.get(input, options) : service.getAfterMiss(resolved, options)), {
      scheduler: this.#config.scheduler,
      dueAt: this.#started + deadlineMs,
      deadlineMs,
      abandoned: this.#hungUp,
      onAbortable: (abort) => {
        this.#abortWait = abort
      },
    })
    try {
      return answerOf(await wait.result, this.#log)
    } catch (err) {
      return failedAnswer(toTtsError(err).code, resolved?.key)
    } finally {
      wait.cancel()
      this.#abortWait = undefined
    }
  }

  /** The verbatim read of tts_cache_text, bounded by what is left of the deadline. */
  async #readVerbatimText(data: ChannelData, deadlineMs: number): Promise<string | TtsError> {
    // Deadline 0 means "do not wait for a render", not "do not look": the text must be known to
    // look it up, set tts_cache_key and warm the cache, so the read gets its own command timeout.
    const remainingMs = deadlineMs === 0 ? this.#config.commandTimeoutMs : this.#started + deadlineMs - this.#config.scheduler.now()
    if (remainingMs <= 0) return new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [deadlineMs] })
    return readVerbatimText(this.#connection, data, Math.min(this.#config.commandTimeoutMs, remainingMs), this.#log)
  }

  /**
   * FreeSWITCH's last message on this socket: the caller hung up, or (after our `exit`) it is
   * about to close. Once our variables are written there is nothing left to hear, so we close at
   * once instead of waiting for its FIN (every byte it sent has been read, so this is a clean
   * close, never a reset).
   */
  #onDisconnectNotice(): void {
    if (this.#phase === 'delivering' || this.#phase === 'closing') this.#connection.destroy()
    else this.#onChannelGone(true)
  }

  /** The channel is gone (`byPeer`: FreeSWITCH said so or closed) or we closed the socket. */
  #onChannelGone(byPeer: boolean): void {
    if (byPeer && (this.#phase === 'waiting' || this.#phase === 'connecting')) this.#hungUp = true
    this.#abortWait?.(new TtsError('TTS_ERR_ABORTED'))
  }

  /** The call's one log line (call-log.ts), then its outcome. */
  #logged(uuid: string | undefined, outcome: EslCallOutcome, callerGone: boolean): EslCallOutcome {
    logCall(this.#config.logger, this.#config.callLog, uuid, outcome, callerGone)
    return outcome
  }

  #outcome(uuid: string | undefined, answer: Answer, delivered: boolean): EslCallOutcome {
    return callOutcome(uuid, answer, delivered, this.#hungUp, (this.#config.scheduler.now() - this.#started) / 1000)
  }
}
