/**
 * Why src/esl does not use modesl 1.2.1 at runtime: each defect seen against the real
 * FreeSWITCH (../shared/esl-captures/modesl/*.log) is reproduced here by replaying captured
 * bytes through modesl, next to our codec/connection handling the same bytes.
 * modesl is only loaded by this test file.
 */
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { afterEach, describe, expect, it } from 'vitest'
import { exitCommand, uuidSetvarCommand, connectCommand } from '../../src/esl/codec/command.js'
import { EslConnection } from '../../src/esl/connection/connection.js'
import { isCommandNotFound } from '../../src/esl/connection/replies.js'
import { parseEventFrame } from '../../src/esl/codec/event.js'
import { EslFrameParser } from '../../src/esl/codec/frame-parser.js'
import { EslInboundClient } from '../../src/esl/inbound/client.js'
import { captureBytes, OUTBOUND, referenceFrames } from '../fakes/freeswitch/captures.js'
import { FakeEventSocket } from '../fakes/freeswitch/event-socket.js'
import { startRealApp } from '../harness/esl/hook.js'
import { ManualScheduler } from '../fakes/esl/manual-scheduler.js'
import { socketPair } from '../harness/esl/socket-pair.js'
import { RecordingLogger } from '../fakes/esl/recording-logger.js'
import { settle, waitFor } from '../harness/esl/wait.js'

const require = createRequire(import.meta.url)

interface ModeslEvent {
  getHeader(name: string): string | undefined
  getBody(): string
}
interface ModeslConnection {
  api(command: string, args: string | string[], cb: (e: ModeslEvent) => void): void
  bgapi(command: string, args: string, cb: (e: ModeslEvent) => void): void
  on(event: string, cb: (...args: unknown[]) => void): void
  onAny(cb: (name: string | string[], ...args: unknown[]) => void): void
  listeners(pattern: string): unknown[]
  disconnect(): void
}
type ModeslConnectionCtor = new (...args: unknown[]) => ModeslConnection
type ModeslParserCtor = new (socket: EventEmitter) => EventEmitter

const ModeslConnectionClass = (require('modesl') as { Connection: ModeslConnectionCtor }).Connection
const ModeslParser = require('modesl/lib/esl/Parser.js') as ModeslParserCtor

const LIMITS = { maxHeaderBytes: 256 * 1024, maxBodyBytes: 4 * 1024 * 1024 }
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A stand-in socket for modesl: records writes, lets the test emit FreeSWITCH's bytes. */
function fakeSocket(): EventEmitter & { written: string[]; write(s: string): boolean; end(): void } {
  const socket = new EventEmitter() as EventEmitter & { written: string[]; write(s: string): boolean; end(): void }
  socket.written = []
  socket.write = (s: string) => {
    socket.written.push(s)
    return true
  }
  socket.end = () => undefined
  return socket
}

/** The captured frames of a capture, as raw byte slices. */
function capturedFrames(file: string): Buffer[] {
  const bytes = captureBytes(file)
  return referenceFrames(bytes).map((f) => bytes.subarray(f.start, f.end))
}

/** The captured getvar reply (out-full_walk-syncfull: "Reply-Text: Hello World") with the value substituted. */
function capturedGetvarReply(value: string): Buffer {
  const frame = capturedFrames(OUTBOUND('out-full_walk-syncfull')).find((f) => f.toString().includes('Reply-Text: Hello World'))
  if (frame === undefined) throw new Error('getvar reply not in the capture')
  return Buffer.from(frame.toString().replace('Hello World', value))
}

describe('modesl defect 1: a bare % in a header value', () => {
  it('modesl throws URIError from inside the socket data handler (a process crash on a real socket)', () => {
    const socket = fakeSocket()
    new ModeslParser(socket)
    expect(() => socket.emit('data', capturedGetvarReply('50%'))).toThrow(URIError)
  })

  it('our parser keeps the value, and the reply reaches its command', async () => {
    const parser = new EslFrameParser(LIMITS)
    const { frames, error } = parser.push(capturedGetvarReply('50%'))
    expect(error).toBeUndefined()
    expect(frames[0]?.header('Reply-Text')).toBe('50%')

    const pair = await socketPair()
    cleanups.push(pair.close)
    const connection = new EslConnection(pair.ours, {
      side: 'outbound',
      scheduler: new ManualScheduler(),
      logger: new RecordingLogger(),
      limits: LIMITS,
      commandTimeoutMs: 1000,
    })
    const reply = connection.send(exitCommand())
    pair.theirs.write(capturedGetvarReply('100% sure'))
    expect((await reply).header('Reply-Text')).toBe('100% sure')
  })
})

describe('modesl defect 2: outbound without full misroutes the api reply', () => {
  const scenario = 'q3-phrase-nofull-api_setvar'

  it('modesl never calls the api() callback (the -ERR goes to the command queue)', () => {
    const [channelData, apiRefusal, bye] = capturedFrames(OUTBOUND(scenario))
    if (channelData === undefined || apiRefusal === undefined || bye === undefined) throw new Error('capture changed')
    const socket = fakeSocket()
    const conn = new ModeslConnectionClass(socket)
    conn.on('error', () => undefined)
    let ready = false
    conn.on('esl::ready', () => {
      ready = true
    })
    socket.emit('data', channelData)
    // modesl subscribes to events on its own; without full that is refused too (captured framing).
    expect(socket.written.join('')).toContain('event json BACKGROUND_JOB CHANNEL_EXECUTE_COMPLETE')
    socket.emit('data', apiRefusal)
    expect(ready).toBe(true)
    let called = 0
    conn.api('uuid_setvar', ['0dca8276-1c8d-48a9-ab95-4f2993602677', 'tts_file', '/tmp/x.wav'], () => called++)
    socket.emit('data', apiRefusal) // the captured reply to exactly that api command
    socket.emit('data', bye)
    socket.emit('end')
    expect(called).toBe(0)
  })

  it('our connection hands the same bytes to the api command as a refusal (then we fall back to sendmsg)', async () => {
    const pair = await socketPair()
    cleanups.push(pair.close)
    const connection = new EslConnection(pair.ours, {
      side: 'outbound',
      scheduler: new ManualScheduler(),
      logger: new RecordingLogger(),
      limits: LIMITS,
      commandTimeoutMs: 1000,
    })
    const connect = connection.send(connectCommand())
    const api = connection.send(uuidSetvarCommand('0dca8276-1c8d-48a9-ab95-4f2993602677', 'tts_file', '/tmp/x.wav'))
    const exit = connection.send(exitCommand())
    pair.theirs.write(captureBytes(OUTBOUND(scenario)))
    expect((await connect).header('Control')).toBe('single-channel')
    expect(isCommandNotFound(await api)).toBe(true)
    expect((await exit).header('Reply-Text')).toBe('+OK bye')
  })
})

describe('modesl defect 3: no reconnect; api() after a FreeSWITCH restart loses its callback', () => {
  it('modesl emits an error, never calls back, and never reconnects', async () => {
    const fs = new FakeEventSocket()
    const port = await fs.start()
    cleanups.push(() => fs.stop())
    const errors: string[] = []
    let ended = false
    const conn = await new Promise<ModeslConnection>((resolve) => {
      const c: ModeslConnection = new ModeslConnectionClass('127.0.0.1', port, 'ClueCon', () => resolve(c))
      c.on('error', (err) => errors.push(String((err as Error).message)))
      c.on('esl::end', () => {
        ended = true
      })
    })
    await fs.restart()
    await waitFor(() => ended, 'esl::end')
    let called = 0
    conn.api('status', [], () => called++)
    await settle(20)
    expect(called).toBe(0)
    expect(errors.join(' ')).toMatch(/null/)
    expect(fs.accepted).toBe(1)
  })

  it('our client reconnects on its back-off schedule after the same restart', async () => {
    const fs = new FakeEventSocket()
    const port = await fs.start()
    cleanups.push(() => fs.stop())
    const scheduler = new ManualScheduler()
    const logger = new RecordingLogger()
    const real = await startRealApp({}, cleanups)
    const client = new EslInboundClient({
      host: '127.0.0.1',
      port,
      password: 'ClueCon',
      prewarm: real.test.app.prewarm,
      logger,
      scheduler,
      random: () => 0,
    })
    cleanups.push(() => client.stop())
    client.start()
    await waitFor(() => client.state().state === 'connected', 'connected')
    await fs.restart()
    await waitFor(() => client.state().state === 'disconnected', 'the loss')
    scheduler.advance(scheduler.nextDelay() ?? 0)
    await waitFor(() => client.state().state === 'connected', 'reconnected')
    expect(fs.accepted).toBe(2)
  })
})

describe('modesl defect 4: CUSTOM events are emitted under the Unique-ID, not the subclass', () => {
  it('modesl names the captured tts_cache::request event after its Unique-ID', () => {
    const custom = capturedFrames('inbound/in-05-event-plain-custom-subclass.fs2peer.raw').find((f) => f.toString().includes('Event-Name: CUSTOM'))
    if (custom === undefined) throw new Error('capture changed')
    const socket = fakeSocket()
    const conn = new ModeslConnectionClass(socket)
    conn.on('error', () => undefined)
    const names: string[] = []
    conn.onAny((name) => names.push(Array.isArray(name) ? name.join('::') : name))
    socket.emit('data', custom)
    expect(names).toContain('esl::event::CUSTOM::08de40df-1d4e-41d3-b419-ab380a8f2213')
    expect(names.some((n) => n.includes('tts_cache'))).toBe(false)
  })

  it('our event parser keys on Event-Subclass', () => {
    const custom = capturedFrames('inbound/in-05-event-plain-custom-subclass.fs2peer.raw').find((f) => f.toString().includes('Event-Name: CUSTOM'))
    if (custom === undefined) throw new Error('capture changed')
    const [frame] = new EslFrameParser(LIMITS).push(custom).frames
    if (frame === undefined) throw new Error('no frame')
    const parsed = parseEventFrame(frame)
    expect(parsed.ok && parsed.event.subclass).toBe('tts_cache::request')
  })
})

describe('modesl defect 5 (upstream report): bgapi listeners leak when the job never reports', () => {
  it('modesl keeps one listener per bgapi forever after the socket ended', () => {
    const socket = fakeSocket()
    const conn = new ModeslConnectionClass(socket)
    conn.on('error', () => undefined)
    for (let i = 0; i < 30; i++) conn.bgapi('status', '', () => undefined)
    socket.emit('end')
    expect(conn.listeners('esl::event::BACKGROUND_JOB::*')).toHaveLength(30)
    // We never use bgapi: every command we send gets its reply, or a timeout that closes the socket.
  })
})

describe('multibyte Content-Length (upstream report)', () => {
  it('modesl 1.2.1 and our parser both cut a UTF-8 body split across reads at the right byte', () => {
    const body = 'Grüße 你好 – ok'
    const bytes = Buffer.from(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}Content-Type: command/reply\nReply-Text: +OK\n\n`)
    const split = bytes.indexOf(Buffer.from('你')) + 1

    const socket = fakeSocket()
    const parser = new ModeslParser(socket)
    const bodies: string[] = []
    parser.on('esl::event', (_e: unknown, _h: unknown, b: string | undefined) => bodies.push(b ?? ''))
    socket.emit('data', bytes.subarray(0, split))
    socket.emit('data', bytes.subarray(split))
    expect(bodies).toEqual([body, ''])

    const ours = new EslFrameParser(LIMITS)
    const frames = [...ours.push(bytes.subarray(0, split)).frames, ...ours.push(bytes.subarray(split)).frames]
    expect(frames.map((f) => f.bodyText())).toEqual([body, ''])
  })
})
