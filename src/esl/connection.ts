import type { Socket } from 'node:net'
import { TtsError, toTtsError } from '../core/errors.js'
import type { Logger } from '../core/ports.js'
import type { EslCommand } from './command.js'
import type { EslFrame } from './frame.js'
import { EslFrameParser, type FrameLimits } from './frame-parser.js'
import { observe } from './observe.js'
import type { EslCommandOutcome, EslObserver, EslSide } from './ports.js'
import type { Scheduler } from './scheduler.js'

/** Callbacks for frames that are not replies. Called synchronously from the data handler. */
export interface EslConnectionHandlers {
  /** Every frame, replies included (heartbeat watchdogs). */
  frame?(frame: EslFrame): void
  /** Inbound banner `Content-Type: auth/request`. */
  authRequest?(): void
  /** `text/event-plain|json|xml`. */
  event?(frame: EslFrame): void
  /** `text/disconnect-notice` (the call hung up, or FreeSWITCH is closing after exit). */
  disconnectNotice?(frame: EslFrame): void
  /** Once, when the socket is gone; `reason` is undefined for an orderly close. */
  close?(reason: TtsError | undefined): void
}

export interface EslConnectionOptions {
  readonly side: EslSide
  readonly scheduler: Scheduler
  readonly logger: Logger
  readonly limits: FrameLimits
  /** Per reply: counted from the moment a command is at the head of the queue. */
  readonly commandTimeoutMs: number
  readonly observer?: EslObserver | undefined
  readonly handlers?: EslConnectionHandlers | undefined
}

export type ReplyOutcome = { readonly ok: true; readonly frame: EslFrame } | { readonly ok: false; readonly error: TtsError }

interface Pending {
  readonly command: EslCommand
  readonly resolve: (frame: EslFrame) => void
  readonly reject: (error: TtsError) => void
  cancelTimer: (() => void) | undefined
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
  readonly #queue: Pending[] = []
  readonly #closed: Promise<TtsError | undefined>
  #resolveClosed!: (reason: TtsError | undefined) => void
  #open = true
  #closeReason: TtsError | undefined

  constructor(socket: Socket, options: EslConnectionOptions) {
    this.#socket = socket
    this.#options = options
    this.#parser = new EslFrameParser(options.limits)
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

  /** Commands written and still waiting for their reply. */
  get pendingReplies(): number {
    return this.#queue.length
  }

  /** Writes one command and resolves with its reply frame (which may be a `-ERR`). */
  send(command: EslCommand): Promise<EslFrame> {
    return this.#enqueue([command])[0] as Promise<EslFrame>
  }

  /**
   * Writes several commands in ONE write and waits for all replies (FreeSWITCH reads a command
   * up to its blank line before reading the next, and answers in order). Never rejects: each
   * command gets its own outcome.
   */
  sendAll(commands: readonly EslCommand[]): Promise<ReplyOutcome[]> {
    return Promise.all(
      this.#enqueue(commands).map((reply) =>
        reply.then(
          (frame): ReplyOutcome => ({ ok: true, frame }),
          (err: unknown): ReplyOutcome => ({ ok: false, error: toTtsError(err) }),
        ),
      ),
    )
  }

  /** Closes the socket at once; pending commands are rejected. Idempotent. */
  destroy(reason?: TtsError): void {
    this.#shutdown(reason)
  }

  #enqueue(commands: readonly EslCommand[]): Promise<EslFrame>[] {
    if (!this.isOpen) {
      const error = this.#closeReason ?? new TtsError('TTS_ERR_ESL_CLOSED', { args: ['socket already closed'] })
      return commands.map((command) => {
        this.#observeCommand(command, 'closed')
        return Promise.reject(error)
      })
    }
    const promises = commands.map(
      (command) =>
        new Promise<EslFrame>((resolve, reject) => {
          this.#queue.push({ command, resolve, reject, cancelTimer: undefined })
        }),
    )
    if (this.#queue.length === commands.length) this.#armHeadTimer()
    this.#socket.write(Buffer.concat(commands.map((c) => c.bytes)))
    return promises
  }

  #armHeadTimer(): void {
    const head = this.#queue[0]
    if (head === undefined || head.cancelTimer !== undefined) return
    head.cancelTimer = this.#options.scheduler.schedule(this.#options.commandTimeoutMs, () => {
      if (this.#queue[0] !== head) return
      this.#queue.shift()
      this.#observeCommand(head.command, 'timeout')
      const error = new TtsError('TTS_ERR_ESL_TIMEOUT', { args: [head.command.name] })
      this.#options.logger.warn({ command: head.command.name, timeoutMs: this.#options.commandTimeoutMs }, 'event socket reply timed out; closing')
      head.reject(error)
      // Replies are matched in order: a late reply would be taken for the next command's.
      this.#shutdown(error)
    })
  }

  #onData(chunk: Buffer): void {
    try {
      const { frames, error } = this.#parser.push(chunk)
      for (const frame of frames) {
        if (!this.#open) return
        this.#route(frame)
      }
      if (error !== undefined) {
        observe(this.#options.observer, this.#options.logger, 'protocolError', this.#options.side)
        this.#options.logger.warn({ err: error }, 'malformed data from FreeSWITCH; closing the connection')
        this.#shutdown(error)
      }
    } catch (err) {
      // A bug in a handler must cost one connection, never the process.
      this.#options.logger.error({ err }, 'event socket frame handler failed; closing the connection')
      this.#shutdown(toTtsError(err))
    }
  }

  #route(frame: EslFrame): void {
    const handlers = this.#options.handlers
    handlers?.frame?.(frame)
    const type = frame.contentType
    switch (type) {
      case 'command/reply':
      case 'api/response':
        this.#resolveHead(frame)
        return
      case 'auth/request':
        handlers?.authRequest?.()
        return
      case 'text/disconnect-notice':
        handlers?.disconnectNotice?.(frame)
        return
      case 'text/event-plain':
      case 'text/event-json':
      case 'text/event-xml':
        handlers?.event?.(frame)
        return
      default:
        // log/data and anything new: not ours to act on.
        this.#options.logger.debug({ contentType: type }, 'ignored event socket frame')
    }
  }

  #resolveHead(frame: EslFrame): void {
    const head = this.#queue.shift()
    if (head === undefined) {
      this.#options.logger.warn({ contentType: frame.contentType }, 'event socket reply with no command waiting; ignored')
      return
    }
    head.cancelTimer?.()
    this.#observeCommand(head.command, isRefusal(frame) ? 'refused' : 'ok')
    head.resolve(frame)
    this.#armHeadTimer()
  }

  #observeCommand(command: EslCommand, outcome: EslCommandOutcome): void {
    observe(this.#options.observer, this.#options.logger, 'command', this.#options.side, command.name, outcome)
  }

  #shutdown(reason: TtsError | undefined): void {
    if (!this.#open) return
    this.#open = false
    this.#closeReason = reason
    const pending = this.#queue.splice(0)
    if (pending.length > 0) {
      const error = reason ?? new TtsError('TTS_ERR_ESL_CLOSED', { args: ['the peer closed the connection'] })
      const closed = error.code === 'TTS_ERR_ESL_CLOSED' ? error : new TtsError('TTS_ERR_ESL_CLOSED', { cause: error, args: [error.message] })
      for (const p of pending) {
        p.cancelTimer?.()
        this.#observeCommand(p.command, 'closed')
        p.reject(closed)
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

/** A reply that says no: `-ERR…` in Reply-Text (command/reply) or in the api/response body. */
export function isRefusal(frame: EslFrame): boolean {
  if (frame.contentType === 'api/response') return frame.bodyText().startsWith('-')
  return (frame.header('Reply-Text') ?? '').startsWith('-')
}

/** `-ERR command not found` as a command/reply: the `api` refusal of a socket without `full`. */
export function isCommandNotFound(frame: EslFrame): boolean {
  return frame.contentType === 'command/reply' && (frame.header('Reply-Text') ?? '').startsWith('-ERR command not found')
}
