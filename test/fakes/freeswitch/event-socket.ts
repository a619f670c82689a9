/**
 * mod_event_socket's inbound side (127.0.0.1:8021), as captured in inbound/in-*:
 * banner; `auth` (+OK accepted | -ERR invalid, disconnect-notice, close); commands before auth
 * get -ERR command not found; `event plain|json <names> [CUSTOM <subclasses>]` with FreeSWITCH's
 * parsing (every word after CUSTOM is a subclass); CUSTOM events in the captured plain format;
 * HEARTBEAT verbatim from in-09; `api status|version` with the captured bodies; exit.
 * restart() = close every connection, refuse while down, then accept again on the same port.
 */
import { createServer, type Server, type Socket } from 'node:net'
import {
  apiResponse,
  BANNER,
  capturedApiBody,
  capturedEventLines,
  commandReply,
  COMMAND_NOT_FOUND,
  INBOUND_DISCONNECT_NOTICE,
  jsonEvent,
  plainEventFromEncodedLines,
} from './frames.js'
import { fsUrlEncode } from './url-encode.js'

const EVENT_NAMES = new Set([
  'ALL',
  'CUSTOM',
  'HEARTBEAT',
  'BACKGROUND_JOB',
  'CHANNEL_CREATE',
  'CHANNEL_DESTROY',
  'CHANNEL_EXECUTE',
  'CHANNEL_EXECUTE_COMPLETE',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_ANSWER',
  'CHANNEL_PARK',
  'CHANNEL_UNPARK',
  'PLAYBACK_START',
  'PLAYBACK_STOP',
  'API',
  'LOG',
  'RE_SCHEDULE',
])

const CUSTOM_CAPTURE = 'inbound/in-05-event-plain-custom-subclass.fs2peer.raw'
const HEARTBEAT_CAPTURE = 'inbound/in-09-heartbeat.fs2peer.raw'

interface Listener {
  readonly socket: Socket
  authed: boolean
  format: 'plain' | 'json' | undefined
  all: boolean
  readonly events: Set<string>
  readonly subclasses: Set<string>
  pending: Buffer
  closing: boolean
}

export interface FakeEventSocketOptions {
  readonly password?: string
  readonly host?: string
  readonly port?: number
}

export class FakeEventSocket {
  readonly password: string
  readonly host: string
  /** Every command line received, in order, across connections (the test's own record). */
  readonly commands: string[] = []
  /** TCP connections accepted since construction. */
  accepted = 0
  /** false: read commands but never answer (a hung FreeSWITCH). */
  answering = true
  #port: number
  #server: Server | undefined
  readonly #listeners = new Set<Listener>()
  readonly #customTemplate: string[]
  readonly #heartbeatLines: string[]

  constructor(options: FakeEventSocketOptions = {}) {
    this.password = options.password ?? 'ClueCon'
    this.host = options.host ?? '127.0.0.1'
    this.#port = options.port ?? 0
    this.#customTemplate = capturedEventLines(CUSTOM_CAPTURE, 'CUSTOM')
    this.#heartbeatLines = capturedEventLines(HEARTBEAT_CAPTURE, 'HEARTBEAT')
  }

  get port(): number {
    return this.#port
  }

  /** Connections open now. */
  get open(): number {
    return this.#listeners.size
  }

  /** Authenticated connections subscribed to CUSTOM with `subclass`. */
  subscribers(subclass: string): number {
    return [...this.#listeners].filter((l) => l.authed && (l.all || (l.events.has('CUSTOM') && l.subclasses.has(subclass)))).length
  }

  async start(): Promise<number> {
    const server = createServer((socket) => this.#onConnection(socket))
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, this.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    const address = server.address()
    if (typeof address === 'object' && address !== null) this.#port = address.port
    return this.#port
  }

  /** FreeSWITCH going down: every connection closed, new ones refused. */
  async stop(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    // FreeSWITCH going away closes its sockets (FIN; modesl saw esl::end). Stragglers are cut.
    for (const l of this.#listeners) {
      l.closing = true
      l.socket.end()
      setTimeout(() => l.socket.destroy(), 200).unref()
    }
    this.#listeners.clear()
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async restart(): Promise<void> {
    await this.stop()
    await this.start()
  }

  /**
   * Fires a CUSTOM event the way the dialplan `event` app does (in-05): Event-Subclass first,
   * the core headers, Event-Name, the given headers in order, then the channel's headers.
   * With subclass tts_cache::request and [['tts_text','Hello']] the bytes equal the capture.
   */
  fireCustom(subclass: string, headers: readonly (readonly [string, string])[], body?: string): number {
    const t = this.#customTemplate
    const nameAt = t.indexOf('Event-Name: CUSTOM')
    const prefix = t.slice(0, nameAt + 1).map((l) => (l.startsWith('Event-Subclass: ') ? `Event-Subclass: ${fsUrlEncode(subclass)}` : l))
    const channel = t.slice(nameAt + 2)
    const lines = [...prefix, ...headers.map(([n, v]) => `${n}: ${fsUrlEncode(v)}`), ...channel]
    const decoded: [string, string][] = lines.map((l) => {
      const c = l.indexOf(': ')
      return [l.slice(0, c), decodeURIComponent(l.slice(c + 2))]
    })
    let sent = 0
    for (const l of this.#listeners) {
      if (!l.authed || l.format === undefined) continue
      if (!(l.all || (l.events.has('CUSTOM') && l.subclasses.has(subclass)))) continue
      this.#send(l, l.format === 'plain' ? plainEventFromEncodedLines(lines, body) : jsonEvent(decoded, body))
      sent++
    }
    return sent
  }

  /** Sends the captured HEARTBEAT (in-09) to every listener subscribed to it. */
  sendHeartbeat(): number {
    let sent = 0
    for (const l of this.#listeners) {
      if (!l.authed || l.format === undefined || !(l.all || l.events.has('HEARTBEAT'))) continue
      const decoded = this.#heartbeatLines.map((line): [string, string] => {
        const c = line.indexOf(': ')
        return [line.slice(0, c), decodeURIComponent(line.slice(c + 2))]
      })
      this.#send(l, l.format === 'plain' ? plainEventFromEncodedLines(this.#heartbeatLines) : jsonEvent(decoded))
      sent++
    }
    return sent
  }

  #onConnection(socket: Socket): void {
    this.accepted++
    const listener: Listener = {
      socket,
      authed: false,
      format: undefined,
      all: false,
      events: new Set(),
      subclasses: new Set(),
      pending: Buffer.alloc(0),
      closing: false,
    }
    this.#listeners.add(listener)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => this.#listeners.delete(listener))
    // in-16: the peer half-closes without exit; FreeSWITCH still says goodbye, then closes.
    socket.on('end', () => {
      if (!listener.closing && socket.writable) {
        listener.closing = true
        this.#send(listener, INBOUND_DISCONNECT_NOTICE)
      }
      socket.end()
    })
    socket.on('data', (chunk: Buffer) => {
      listener.pending = Buffer.concat([listener.pending, chunk])
      this.#drain(listener)
    })
    this.#send(listener, BANNER)
  }

  #drain(l: Listener): void {
    for (;;) {
      let start = 0
      while (start < l.pending.length && (l.pending[start] === 0x0a || l.pending[start] === 0x0d)) start++
      l.pending = l.pending.subarray(start)
      const end = l.pending.indexOf('\n\n')
      if (end < 0) return
      const lines = l.pending.toString('utf8', 0, end).split('\n')
      const length = Number(/^content-length: *(\d+)$/im.exec(lines.slice(1).join('\n'))?.[1] ?? 0)
      if (l.pending.length < end + 2 + length) return
      l.pending = l.pending.subarray(end + 2 + length)
      const line = (lines[0] ?? '').replace(/\r$/, '')
      this.commands.push(line)
      if (l.closing) return
      if (this.answering) this.#handle(l, line)
    }
  }

  #handle(l: Listener, line: string): void {
    if (line.startsWith('exit')) return this.#goodbye(l, commandReply('+OK bye'))
    if (!l.authed) {
      if (!line.startsWith('auth ')) return this.#send(l, COMMAND_NOT_FOUND)
      if (line.slice(5) === this.password) {
        l.authed = true
        return this.#send(l, commandReply('+OK accepted'))
      }
      return this.#goodbye(l, commandReply('-ERR invalid'))
    }
    const [word = '', ...args] = line.split(' ')
    switch (word) {
      case 'event':
        return this.#send(l, this.#subscribe(l, args))
      case 'noevents':
        l.format = undefined
        l.all = false
        l.events.clear()
        l.subclasses.clear()
        return this.#send(l, commandReply('+OK no longer listening for events'))
      case 'api': {
        const [name = '', ...rest] = args
        if (name === 'status' || name === 'version') return this.#send(l, apiResponse(capturedApiBody(name)))
        if (name === 'uuid_setvar' && rest.length === 0) return this.#send(l, apiResponse('-USAGE: <uuid> <var> [value]\n'))
        if (name === 'uuid_setvar') return this.#send(l, apiResponse('-ERR No such channel!\n'))
        return this.#send(l, apiResponse(`-ERR ${name} Command not found!\n`))
      }
      default:
        return this.#send(l, COMMAND_NOT_FOUND)
    }
  }

  /** FreeSWITCH's `event` parsing: format, then names; after CUSTOM every word is a subclass. */
  #subscribe(l: Listener, args: readonly string[]): string {
    const [format = '', ...words] = args
    const fmt = format === 'json' ? 'json' : format === 'plain' ? 'plain' : undefined
    if (fmt === undefined) return commandReply('-ERR no keywords supplied')
    let custom = false
    let keys = 0
    for (const word of words) {
      if (custom) {
        l.subclasses.add(word)
      } else if (EVENT_NAMES.has(word.toUpperCase())) {
        keys++
        const name = word.toUpperCase()
        if (name === 'ALL') l.all = true
        l.events.add(name)
        if (name === 'CUSTOM') custom = true
      }
    }
    if (keys === 0) return commandReply('-ERR no keywords supplied')
    l.format = fmt
    return commandReply(`+OK event listener enabled ${fmt}`)
  }

  #goodbye(l: Listener, reply: string): void {
    l.closing = true
    this.#send(l, reply + INBOUND_DISCONNECT_NOTICE)
    l.socket.end()
  }

  #send(l: Listener, text: string): void {
    if (!l.socket.destroyed && l.socket.writable) l.socket.write(text)
  }
}
