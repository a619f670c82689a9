import type { Socket } from 'node:net'
import { TtsError, toTtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import type { EslCommand } from '../codec/command.js'
import type { EslFrame } from '../codec/frame.js'
import { EslFrameParser, type FrameLimits } from '../codec/frame-parser.js'
import { observe } from '../observe.js'
import type { EslCommandOutcome, EslObserver, EslSide } from '../ports.js'
import { routeFrame, type EslConnectionHandlers } from './frame-routing.js'
import { peerOf, ProtocolErrorLog } from './protocol-error-log.js'
import { isRefusal } from './replies.js'
import { ReplyQueue, type PendingReply, type ReplyOutcome } from './reply-queue.js'
import type { Scheduler } from './scheduler.js'

export type { EslConnectionHandlers } from './frame-routing.js'
export type { ReplyOutcome } from './reply-queue.js'

export interface EslConnectionOptions {
  readonly side: EslSide
  readonly scheduler: Scheduler
  readonly logger: Logger
  readonly limits: FrameLimits
  /** Per reply: counted from the moment a command is at the head of the queue. */
  readonly commandTimeoutMs: number
  readonly observer?: EslObserver | undefined
  readonly handlers?: EslConnectionHandlers | undefined
  /** Where malformed input is logged (one line each, bursts summed up); shared by a listener's connections. */
  readonly protocolErrors?: ProtocolErrorLog | undefined
}

/**
 * One ESL socket: our codec on the read side, the CR/LF-checked command encoder on the write
 * side, and replies matched to commands.
 *
 * ESL replies carry no id, so they can only be matched in order — but unlike modesl there is
 * ONE queue for both reply types (an `api` refused without `full` comes back as command/reply,
 * which modesl routes to the wrong queue), every reply has a timeout, and a timeout closes the
 * connection: a late reply could otherwise be taken for the next command's. When the socket
 * closes, every pending command is rejected (TTS_ERR_ESL_CLOSED); nothing is ever written to a
 * closed or half-closed socket.
 */
export class EslConnection {
  readonly #socket: Socket
  readonly #options: EslConnectionOptions
  readonly #parser: EslFrameParser
  readonly #queue: ReplyQueue
  readonly #closed: Promise<TtsError | undefined>
  #resolveClosed!: (reason: TtsError | undefined) => void
  #open = true
  #closeReason: TtsError | undefined
  /** scheduler.now() when the current `data` event started (before parsing). */
  #chunkAt = 0
  #replyAt = 0
  readonly #resolveReply = (frame: EslFrame): void => this.#resolveHead(frame)

  constructor(socket: Socket, options: EslConnectionOptions) {
    this.#socket = socket
    this.#options = options
    this.#parser = new EslFrameParser(options.limits)
    this.#queue = new ReplyQueue(options.scheduler, (head) => this.#onReplyTimeout(head))
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('end', () => this.#shutdown(undefined))
    socket.on('error', (err: Error) => {
      this.#shutdown(new TtsError('TTS_ERR_ESL_CLOSED', { cause: err, args: [err.message] }))
    })
    socket.on('close', () => this.#shutdown(undefined))
  }

  /** true until the peer closed, we destroyed the socket, or the stream became unusable. */
  get isOpen(): boolean {
    return this.#open && !this.#socket.destroyed && this.#socket.writable
  }

  /** Resolves (never rejects) once the connection is closed, with the reason if it was abnormal. */
  get closed(): Promise<TtsError | undefined> {
    return this.#closed
  }

  /**
   * scheduler.now() at the start of the `data` event that carried the last reply handed to a
   * command (i.e. before the codec parsed it): where service-side time starts.
   */
  get lastReplyReceivedAt(): number {
    return this.#replyAt
  }

  /** `host:port` of the peer (for logs). */
  get peer(): string {
    return peerOf(this.#socket)
  }

  /** Logs malformed input from the peer: one line, no stack (see ProtocolErrorLog). */
  reportProtocolError(error: TtsError, what?: string): void {
    const log = this.#options.protocolErrors ?? new ProtocolErrorLog(this.#options.logger, this.#options.scheduler)
    log.report(this.#options.side, this.peer, error, what)
  }

  /** Commands written and still waiting for their reply. */
  get pendingReplies(): number {
    return this.#queue.length
  }

  /**
   * Writes one command and resolves with its reply frame (which may be a `-ERR`). `timeoutMs`
   * overrides commandTimeoutMs for this reply (the outbound `connect` uses the connect timeout).
   */
  send(command: EslCommand, timeoutMs: number = this.#options.commandTimeoutMs): Promise<EslFrame> {
    return new Promise<EslFrame>((resolve, reject) => {
      if (!this.isOpen) {
        this.#observeCommand(command, 'closed')
        reject(this.#closedError())
        return
      }
      this.#queue.add({ command, timeoutMs, settle: (outcome) => (outcome.ok ? resolve(outcome.frame) : reject(outcome.error)) })
      this.#socket.write(command.text)
    })
  }

  /**
   * Writes several commands in ONE write and waits for all replies (FreeSWITCH reads a command
   * up to its blank line before reading the next, and answers in order). Never rejects: each
   * command gets its own outcome. One promise for the lot, not one per command.
   */
  sendAll(commands: readonly EslCommand[]): Promise<ReplyOutcome[]> {
    return new Promise<ReplyOutcome[]>((resolve) => {
      const outcomes: ReplyOutcome[] = new Array<ReplyOutcome>(commands.length)
      if (!this.isOpen) {
        const error = this.#closedError()
        commands.forEach((command, i) => {
          this.#observeCommand(command, 'closed')
          outcomes[i] = { ok: false, error }
        })
        resolve(outcomes)
        return
      }
      let waiting = commands.length
      const timeoutMs = this.#options.commandTimeoutMs
      this.#queue.addAll(
        commands.map((command, i) => ({
          command,
          timeoutMs,
          settle: (outcome: ReplyOutcome) => {
            outcomes[i] = outcome
            if (--waiting === 0) resolve(outcomes)
          },
        })),
      )
      // One write for all of them (a string: no intermediate Buffer).
      let text = ''
      for (const command of commands) text += command.text
      this.#socket.write(text)
    })
  }

  /** Closes the socket at once; pending commands are rejected. Idempotent. */
  destroy(reason?: TtsError): void {
    this.#shutdown(reason)
  }

  #closedError(): TtsError {
    return this.#closeReason ?? new TtsError('TTS_ERR_ESL_CLOSED', { args: ['socket already closed'] })
  }

  /** The head's reply is overdue (already taken off the queue): fail it and close. */
  #onReplyTimeout(head: PendingReply): void {
    this.#observeCommand(head.command, 'timeout')
    const error = new TtsError('TTS_ERR_ESL_TIMEOUT', { args: [head.command.name] })
    this.#options.logger.warn({ command: head.command.name, timeoutMs: head.timeoutMs }, 'event socket reply timed out; closing')
    head.settle({ ok: false, error })
    // Replies are matched in order: a late reply would be taken for the next command's.
    this.#shutdown(error)
  }

  #onData(chunk: Buffer): void {
    this.#chunkAt = this.#options.scheduler.now()
    try {
      const { frames, error } = this.#parser.push(chunk)
      for (const frame of frames) {
        if (!this.#open) return
        routeFrame(frame, this.#options.handlers, this.#resolveReply, this.#options.logger)
      }
      if (error !== undefined) {
        observe(this.#options.observer, this.#options.logger, 'protocolError', this.#options.side)
        this.reportProtocolError(error)
        this.#shutdown(error)
      }
    } catch (err) {
      // A bug in a handler must cost one connection, never the process.
      this.#options.logger.error({ err }, 'event socket frame handler failed; closing the connection')
      this.#shutdown(toTtsError(err))
    }
  }

  #resolveHead(frame: EslFrame): void {
    const head = this.#queue.takeHead()
    if (head === undefined) {
      this.#options.logger.warn({ contentType: frame.contentType }, 'event socket reply with no command waiting; ignored')
      return
    }
    this.#replyAt = this.#chunkAt
    this.#observeCommand(head.command, isRefusal(frame) ? 'refused' : 'ok')
    head.settle({ ok: true, frame })
    this.#queue.headChanged()
  }

  #observeCommand(command: EslCommand, outcome: EslCommandOutcome): void {
    observe(this.#options.observer, this.#options.logger, 'command', this.#options.side, command.name, outcome)
  }

  #shutdown(reason: TtsError | undefined): void {
    if (!this.#open) return
    this.#open = false
    this.#closeReason = reason
    const pending = this.#queue.drain()
    if (pending.length > 0) {
      const error = reason ?? new TtsError('TTS_ERR_ESL_CLOSED', { args: ['the peer closed the connection'] })
      const closed = error.code === 'TTS_ERR_ESL_CLOSED' ? error : new TtsError('TTS_ERR_ESL_CLOSED', { cause: error, args: [error.message] })
      for (const p of pending) {
        this.#observeCommand(p.command, 'closed')
        p.settle({ ok: false, error: closed })
      }
    }
    this.#socket.destroy()
    try {
      this.#options.handlers?.close?.(reason)
    } catch (err) {
      this.#options.logger.error({ err }, 'event socket close handler failed')
    }
    this.#resolveClosed(reason)
  }
}
