/**
 * A FreeSWITCH channel running the tts_cache phrase macro, as far as the Event Socket shows it:
 *
 *   execute set(tts_file=<fallback>)   (optional preset; the shipped macro now unsets the status)
 *   execute set(tts_cache_text=<guard>$1<end>)   (wrapMacroText)
 *   execute socket(<host>:<port> [async] [full])   ← this double, byte for byte as captured
 *   play-file ${tts_file}              ← `played`, expanded after the socket step
 *
 * It connects to the service like mod_event_socket's socket app, answers `connect` with the
 * captured CHANNEL_DATA (variables substituted, URL-encoded as FreeSWITCH does), answers api /
 * sendmsg / exit with the captured reply framing, sends the captured disconnect notices,
 * reads commands the way FreeSWITCH does (up to the blank line, then Content-Length bytes) and
 * records every byte the service sent.
 */
import { connect, type Socket } from 'node:net'
import { randomUUID } from 'node:crypto'
import { wrapMacroText } from '../../../src/esl/outbound/call-input.js'
import { HOOK_VARIABLES } from '../../../src/esl/codec/channel-data.js'
import {
  apiResponse,
  channelDataFrame,
  commandReply,
  COMMAND_NOT_FOUND,
  DEFAULT_CHANNEL_DATA_CAPTURE,
  outboundDisconnectNotice,
} from './frames.js'

export interface FakeCallOptions {
  readonly port: number
  readonly host?: string
  /** socket(... full): api allowed. Default true. */
  readonly full?: boolean
  /** socket(... async): Socket-Mode async. Default false (static). */
  readonly async?: boolean
  /** Drop the Control header from CHANNEL_DATA (forces the service to probe the mode). */
  readonly omitControl?: boolean
  /**
   * Channel variables set before socket(), e.g. [['tts_cache_text', 'Hello']]. tts_cache_text is
   * stored the way the shipped macro writes it (guard and end marker), unless `directText`.
   */
  readonly variables?: readonly (readonly [string, string])[]
  /** tts_file preset by the macro before socket() (the fallback prompt). */
  readonly presetTtsFile?: string
  readonly uuid?: string
  /** Captured scenario whose CHANNEL_DATA is the template. */
  readonly template?: string
  /** Replace the whole CHANNEL_DATA reply (malformed-data tests). */
  readonly channelDataOverride?: Buffer
  /** Never answer `connect` (a silent peer). */
  readonly silentOnConnect?: boolean
  /** Answer `connect`, then never answer anything else (replies lost). */
  readonly silentAfterConnect?: boolean
  /** Write replies in pieces of this many bytes (exercises the service's reassembly). */
  readonly writeChunkBytes?: number
  /** Half-close (FIN) right after answering connect. */
  readonly halfCloseAfterConnect?: boolean
  /** The socket app's argument as written in the dialplan (variable_current_application_data). */
  readonly applicationData?: string
  /** tts_cache_text as set directly in a dialplan (no macro guard). Default false. */
  readonly directText?: boolean
  /** Raw bytes `api uuid_getvar` answers for a variable (e.g. a value that is not UTF-8). */
  readonly getvarBytes?: ReadonlyMap<string, Buffer>
  /** FreeSWITCH waits ~25 s for `connect` (out-no-connect-cmd); shortened for tests. */
  readonly connectWaitMs?: number
}

export type CallOutcome = 'refused' | 'completed' | 'hung-up' | 'no-connect'

export interface ReceivedCommand {
  readonly line: string
  readonly headers: readonly (readonly [string, string])[]
}

export interface FakeCallResult {
  readonly outcome: CallOutcome
  readonly uuid: string
  /** Channel variables when socket() returned. */
  readonly variables: ReadonlyMap<string, string>
  /** What `play-file ${tts_file}` got: '' when unset (the macro then fails), undefined after a hangup. */
  readonly played: string | undefined
  /** Every byte the service wrote, in order. */
  readonly received: Buffer
  readonly commands: readonly ReceivedCommand[]
  readonly exitReceived: boolean
  /** Commands the double does not model (must stay empty in tests). */
  readonly unsupported: readonly string[]
  /** performance.now() marks. */
  readonly startedAt: number
  readonly connectedAt: number | undefined
  readonly ttsFileSetAt: number | undefined
  readonly endedAt: number
}

export class FakeFreeSwitchCall {
  readonly uuid: string
  readonly result: Promise<FakeCallResult>
  /** Resolves when CHANNEL_DATA has been sent (the service is now working on the call). */
  readonly answered: Promise<void>
  readonly #options: FakeCallOptions
  readonly #variables = new Map<string, string>()
  readonly #received: Buffer[] = []
  readonly #commands: ReceivedCommand[] = []
  readonly #unsupported: string[] = []
  #socket: Socket | undefined
  #pending = Buffer.alloc(0)
  #connected = false
  #exit = false
  #hungUp = false
  #closed = false
  #refused = false
  #noConnect = false
  #startedAt = performance.now()
  #connectedAt: number | undefined
  #ttsFileSetAt: number | undefined
  #resolveAnswered!: () => void
  #connectTimer: NodeJS.Timeout | undefined

  constructor(options: FakeCallOptions) {
    this.#options = options
    this.uuid = options.uuid ?? randomUUID()
    if (options.presetTtsFile !== undefined) this.#variables.set('tts_file', options.presetTtsFile)
    for (const [n, v] of options.variables ?? []) {
      this.#variables.set(n, n === HOOK_VARIABLES.text && options.directText !== true ? wrapMacroText(v) : v)
    }
    this.answered = new Promise((resolve) => {
      this.#resolveAnswered = resolve
    })
    this.result = new Promise((resolve) => {
      const socket = connect({ port: options.port, host: options.host ?? '127.0.0.1' })
      this.#socket = socket
      socket.setNoDelay(true)
      socket.on('connect', () => {
        this.#connectTimer = setTimeout(() => {
          // out-no-connect-cmd: "[CRIT] Socket Error!", disconnect-notice, close.
          this.#noConnect = true
          this.#write(outboundDisconnectNotice(this.uuid))
          socket.end()
        }, options.connectWaitMs ?? 25_000)
        this.#connectTimer.unref()
      })
      socket.on('data', (chunk: Buffer) => {
        this.#received.push(chunk)
        this.#pending = Buffer.concat([this.#pending, chunk])
        this.#drain()
      })
      socket.on('end', () => {
        // The service closed (or half-closed) first: FreeSWITCH answers with the notice (close_no_exit).
        if (!this.#closed && !this.#exit && !this.#hungUp && socket.writable) this.#write(outboundDisconnectNotice(this.uuid))
        socket.end()
      })
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED') this.#refused = true
      })
      socket.on('close', () => {
        this.#closed = true
        clearTimeout(this.#connectTimer)
        this.#resolveAnswered()
        resolve(this.#result())
      })
    })
  }

  /** Commands received so far (the call may still be running). */
  get commandsSoFar(): readonly ReceivedCommand[] {
    return this.#commands
  }

  /** The caller hangs up now: disconnect-notice at once, then FIN (q3-…caller_hangs_up_during_synthesis). */
  hangup(): void {
    if (this.#closed || this.#hungUp) return
    this.#hungUp = true
    this.#write(outboundDisconnectNotice(this.uuid))
    this.#socket?.end()
  }

  #result(): FakeCallResult {
    const outcome: CallOutcome = this.#refused
      ? 'refused'
      : this.#hungUp
        ? 'hung-up'
        : this.#noConnect
          ? 'no-connect'
          : 'completed'
    return {
      outcome,
      uuid: this.uuid,
      variables: new Map(this.#variables),
      played: outcome === 'hung-up' ? undefined : (this.#variables.get('tts_file') ?? ''),
      received: Buffer.concat(this.#received),
      commands: [...this.#commands],
      exitReceived: this.#exit,
      unsupported: [...this.#unsupported],
      startedAt: this.#startedAt,
      connectedAt: this.#connectedAt,
      ttsFileSetAt: this.#ttsFileSetAt,
      endedAt: performance.now(),
    }
  }

  /** FreeSWITCH's read_packet: skip blank lines, read to "\n\n", then Content-Length body bytes. */
  #drain(): void {
    for (;;) {
      let start = 0
      while (start < this.#pending.length && (this.#pending[start] === 0x0a || this.#pending[start] === 0x0d)) start++
      this.#pending = this.#pending.subarray(start)
      const end = this.#pending.indexOf('\n\n')
      if (end < 0) return
      const lines = this.#pending.toString('utf8', 0, end).split('\n').map((l) => l.replace(/\r$/, ''))
      const headers = lines.slice(1).map((l): [string, string] => {
        const colon = l.indexOf(':')
        return [l.slice(0, colon), l.slice(colon + 1).replace(/^ +/, '')]
      })
      const length = Number(headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1] ?? 0)
      if (this.#pending.length < end + 2 + length) return
      this.#pending = this.#pending.subarray(end + 2 + length)
      const command = { line: lines[0] ?? '', headers }
      this.#commands.push(command)
      if (this.#closed || this.#exit || this.#hungUp) return
      this.#handle(command)
    }
  }

  #handle({ line, headers }: ReceivedCommand): void {
    const full = this.#options.full ?? true
    if (!this.#connected) {
      if (line !== 'connect') {
        this.#unsupported.push(line)
        this.#write(COMMAND_NOT_FOUND)
        return
      }
      clearTimeout(this.#connectTimer)
      if (this.#options.silentOnConnect === true) return
      this.#connected = true
      this.#connectedAt = performance.now()
      this.#write(this.#options.channelDataOverride ?? this.#channelData())
      this.#resolveAnswered()
      if (this.#options.halfCloseAfterConnect === true) this.#socket?.end()
      return
    }
    if (this.#options.silentAfterConnect === true) return
    const [word = '', ...args] = line.split(' ')
    switch (word) {
      case 'api':
        if (!full) return this.#write(COMMAND_NOT_FOUND)
        return this.#write(this.#api(args))
      case 'sendmsg': {
        const get = (name: string): string | undefined => headers.find(([n]) => n.toLowerCase() === name)?.[1]
        if (get('call-command') === 'execute' && get('execute-app-name') === 'set') {
          const arg = get('execute-app-arg') ?? ''
          const eq = arg.indexOf('=')
          if (eq > 0) this.#setVariable(arg.slice(0, eq), arg.slice(eq + 1))
        } else {
          this.#unsupported.push(`sendmsg ${get('execute-app-name') ?? '?'}`)
        }
        return this.#write(commandReply('+OK'))
      }
      case 'exit':
        this.#exit = true
        this.#write(commandReply('+OK bye') + outboundDisconnectNotice(this.uuid))
        this.#socket?.end()
        return
      case 'getvar':
        return this.#write(commandReply(this.#variables.get(args[0] ?? '') ?? '_undef_'))
      case 'myevents':
        return this.#write(commandReply('+OK Events Enabled'))
      case 'linger':
        if (!full) return this.#write(COMMAND_NOT_FOUND)
        return this.#write(commandReply(args[0] === undefined ? '+OK will linger' : `+OK will linger ${args[0]} seconds`))
      case 'resume':
        return this.#write(commandReply('+OK'))
      default:
        return this.#write(COMMAND_NOT_FOUND)
    }
  }

  /** The api commands in the captures: uuid_setvar, uuid_getvar, uuid_exists. */
  #api(args: readonly string[]): string | Buffer {
    const [name = '', uuid, variable, ...rest] = args
    if (name === 'uuid_setvar') {
      if (uuid === undefined || variable === undefined) return apiResponse('-USAGE: <uuid> <var> [value]\n')
      if (uuid !== this.uuid) return apiResponse('-ERR No such channel!\n')
      const value = rest.join(' ')
      if (value === '') this.#variables.delete(variable)
      else this.#setVariable(variable, value)
      return apiResponse('+OK\n')
    }
    if (name === 'uuid_getvar') {
      if (uuid !== this.uuid) return apiResponse('-ERR No such channel!\n')
      const bytes = this.#options.getvarBytes?.get(variable ?? '')
      if (bytes !== undefined) return Buffer.concat([Buffer.from(`Content-Type: api/response\nContent-Length: ${bytes.length}\n\n`), bytes])
      return apiResponse(this.#variables.get(variable ?? '') ?? '_undef_')
    }
    if (name === 'uuid_exists') return apiResponse(uuid === this.uuid ? 'true' : 'false')
    this.#unsupported.push(`api ${name}`)
    return apiResponse(`-ERR ${name} Command not found!\n`)
  }

  #setVariable(name: string, value: string): void {
    this.#variables.set(name, value)
    if (name === 'tts_file') this.#ttsFileSetAt = performance.now()
  }

  #channelData(): Buffer {
    const full = this.#options.full ?? true
    const async = this.#options.async ?? false
    const port = this.#options.port
    const host = this.#options.host ?? '127.0.0.1'
    return channelDataFrame(
      {
        uuid: this.uuid,
        variables: [...this.#variables.entries()],
        control: this.#options.omitControl === true ? 'omit' : full ? 'full' : 'single-channel',
        socketMode: async ? 'async' : 'static',
        applicationData: this.#options.applicationData ?? `${host}:${port}${async ? ' async' : ''}${full ? ' full' : ''}`,
      },
      this.#options.template ?? DEFAULT_CHANNEL_DATA_CAPTURE,
    )
  }

  #write(data: string | Buffer): void {
    const socket = this.#socket
    if (socket === undefined || socket.destroyed || !socket.writable) return
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    const size = this.#options.writeChunkBytes
    if (size === undefined) {
      socket.write(bytes)
      return
    }
    for (let i = 0; i < bytes.length; i += size) socket.write(bytes.subarray(i, i + size))
  }
}

/** Starts one call. */
export function startCall(options: FakeCallOptions): FakeFreeSwitchCall {
  return new FakeFreeSwitchCall(options)
}

/** Runs one call to the end. */
export function runCall(options: FakeCallOptions): Promise<FakeCallResult> {
  return new FakeFreeSwitchCall(options).result
}
