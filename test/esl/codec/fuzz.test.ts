/**
 * Property tests: whatever bytes FreeSWITCH (or anything pretending to be it) sends, the parser
 * never throws, chunking never changes the frames, and the live servers neither crash nor leave
 * an unhandled rejection (vitest fails the run on either). The live tests run in front of the
 * real app (TtsService, DiskStore, espeak-ng + sox, pool).
 */
import { connect, type AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { parseChannelData } from '../../../src/esl/codec/channel-data.js'
import { parseEventFrame } from '../../../src/esl/codec/event.js'
import { EslFrameParser } from '../../../src/esl/codec/frame-parser.js'
import { EslInboundClient } from '../../../src/esl/inbound/client.js'
import { captureBytes, OUTBOUND } from '../../fakes/freeswitch/captures.js'
import { startHook, startRealApp } from '../../harness/esl/hook.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'
import { waitFor } from '../../harness/esl/wait.js'
import { createServer } from 'node:net'

const LIMITS = { maxHeaderBytes: 4096, maxBodyBytes: 4096 }
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function feed(chunks: readonly Uint8Array[]): { frames: number; error: boolean } {
  const parser = new EslFrameParser(LIMITS)
  let frames = 0
  for (const chunk of chunks) {
    const result = parser.push(chunk)
    frames += result.frames.length
    for (const frame of result.frames) {
      // The readers of frames must not throw either.
      parseEventFrame(frame)
      parseChannelData(frame)
      frame.bodyText()
    }
  }
  return { frames, error: parser.error !== undefined }
}

/** A stream of well-formed frames, as FreeSWITCH writes them. */
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/).filter((n) => n.toLowerCase() !== 'content-length')
const headerValue = fc.string({ maxLength: 40 }).map((v) => v.replace(/[\r\n]/g, ' '))
const frameArb = fc.record({
  headers: fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 6 }),
  body: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: undefined }),
})

function serialise(frames: readonly { headers: [string, string][]; body: Uint8Array | undefined }[]): Buffer {
  return Buffer.concat(
    frames.map(({ headers, body }) => {
      const head = headers.map(([n, v]) => `${n}: ${v}\n`).join('') + (body === undefined ? '' : `Content-Length: ${body.length}\n`)
      return Buffer.concat([Buffer.from(`${head}\n`, 'utf8'), body ?? Buffer.alloc(0)])
    }),
  )
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let last = 0
  for (const p of points) {
    chunks.push(bytes.subarray(last, p))
    last = p
  }
  chunks.push(bytes.subarray(last))
  return chunks
}

describe('frame parser fuzzing', () => {
  it('never throws on arbitrary bytes in arbitrary chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        feed(chunks)
      }),
      { numRuns: 500 },
    )
  })

  it('never throws on text that looks like ESL (headers, lengths, %, blank lines)', () => {
    const token = fc.constantFrom('Content-Type: ', 'Content-Length: ', 'command/reply', 'api/response', 'text/event-plain', '\n', '\n\n', '\r\n', ': ', '%', '%2', '%ZZ', '%C3%28', '12', '-1', '99999999999', 'Event-Name: CUSTOM', '{"a":', 'Reply-Text: +OK')
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 5 }), (tokens, cuts) => {
        feed(splitAt(Buffer.from(tokens.join(''), 'utf8'), cuts))
      }),
      { numRuns: 1000 },
    )
  })

  it('gives the same frames however a valid stream is cut into reads', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const bytes = serialise(frames)
        const whole = new EslFrameParser({ maxHeaderBytes: 1 << 20, maxBodyBytes: 1 << 20 }).push(bytes)
        const parser = new EslFrameParser({ maxHeaderBytes: 1 << 20, maxBodyBytes: 1 << 20 })
        const pieces = splitAt(bytes, cuts).flatMap((chunk) => parser.push(chunk).frames)
        expect(whole.error).toBeUndefined()
        expect(whole.frames).toHaveLength(frames.length)
        expect(pieces.map((f) => [f.headers, f.body?.toString('hex')])).toEqual(whole.frames.map((f) => [f.headers, f.body?.toString('hex')]))
      }),
      { numRuns: 300 },
    )
  })

  it('finds every header in place exactly as the full parse does (first match, ASCII case ignored)', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,12}$/)
    const value = fc.string({ maxLength: 30, unit: 'grapheme' }).map((v) => v.replace(/[\r\n]/g, ' '))
    const flipCase = (text: string, mask: readonly boolean[]): string =>
      [...text].map((c, i) => (mask[i % Math.max(1, mask.length)] === true ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join('')
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, value, fc.boolean()), { minLength: 1, maxLength: 12 }),
        fc.array(fc.boolean(), { maxLength: 8 }),
        fc.array(name, { maxLength: 4 }),
        (lines, mask, absent) => {
          const text = `${lines.map(([n, v, crlf]) => `${n}: ${v}${crlf ? '\r' : ''}\n`).join('')}\n`
          const [frame] = new EslFrameParser({ maxHeaderBytes: 1 << 16, maxBodyBytes: 1 << 16 }).push(Buffer.from(text, 'utf8')).frames
          if (frame === undefined) throw new Error('no frame')
          const firstMatch = (wanted: string): string | undefined => frame.headers.find(([n]) => n.toLowerCase() === wanted.toLowerCase())?.[1]
          expect(frame.headers.map(([n]) => n)).toEqual(lines.map(([n]) => n))
          const names = [...lines.map(([n]) => n), ...lines.map(([n]) => flipCase(n, mask)), ...absent]
          for (const wanted of names) expect(frame.header(wanted)).toBe(firstMatch(wanted))
          expect(frame.headersNamed(names)).toEqual(names.map(firstMatch))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('finds a blank line written as LF CR LF even when a read ends inside it', () => {
    const bytes = Buffer.from('Content-Type: command/reply\r\nReply-Text: +OK\r\n\r\nContent-Type: auth/request\n\n')
    for (let cut = 0; cut <= bytes.length; cut++) {
      const parser = new EslFrameParser(LIMITS)
      const frames = [...parser.push(bytes.subarray(0, cut)).frames, ...parser.push(bytes.subarray(cut)).frames]
      expect(frames.map((f) => [f.contentType, f.header('Reply-Text')])).toEqual([
        ['command/reply', '+OK'],
        ['auth/request', undefined],
      ])
    }
  })

  it('never throws on mutated captures (flipped, inserted, deleted bytes)', () => {
    const capture = captureBytes(OUTBOUND('out-full_walk-asyncfull'))
    const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'insert', 'delete'), byte: fc.integer({ min: 0, max: 255 }) })
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (edits, cuts) => {
        const bytes = [...capture]
        for (const { at, kind, byte } of edits) {
          const i = at % (bytes.length + 1)
          if (kind === 'flip') bytes[i] = byte
          else if (kind === 'insert') bytes.splice(i, 0, byte)
          else bytes.splice(i, 1)
        }
        const parser = new EslFrameParser({ maxHeaderBytes: 256 * 1024, maxBodyBytes: 1 << 20 })
        for (const chunk of splitAt(Buffer.from(bytes), cuts)) {
          for (const frame of parser.push(chunk).frames) {
            parseEventFrame(frame)
            parseChannelData(frame)
          }
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe('live fuzzing', () => {
  it('the tts_cache hook survives arbitrary bytes from a peer (no crash, no unhandled rejection)', async () => {
    const hook = await startHook({ connectTimeoutMs: 300, commandTimeoutMs: 300, closeTimeoutMs: 300, defaultDeadlineMs: 300 }, cleanups)
    const channelData = captureBytes(OUTBOUND('q3-phrase-full-api_setvar'))
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 2000 }), fc.boolean(), async (prefixWithChannelData, garbage, endAfter) => {
        const before = hook.server.stats().completed
        const socket = connect({ port: hook.port, host: '127.0.0.1' })
        socket.on('error', () => undefined)
        socket.on('data', () => undefined)
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
        socket.write(Buffer.concat([prefixWithChannelData ? channelData.subarray(0, channelData.indexOf('\n\n') + 2) : Buffer.alloc(0), garbage]))
        if (endAfter) socket.end()
        await waitFor(() => hook.server.stats().completed > before, 'the session to end')
        socket.destroy()
      }),
      { numRuns: 40 },
    )
    expect(hook.server.stats().active).toBe(0)
    expect(hook.server.stats().listening).toBe(true)
  })

  it('the inbound client survives arbitrary bytes after the banner', async () => {
    let payload = Buffer.alloc(0)
    let accepted = 0
    const server = createServer((socket) => {
      accepted++
      socket.on('error', () => undefined)
      socket.write(Buffer.concat([Buffer.from('Content-Type: auth/request\n\n'), payload]))
      setTimeout(() => socket.destroy(), 20).unref()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const logger = new RecordingLogger()
    const real = await startRealApp({}, cleanups)
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1500 }), async (garbage) => {
        payload = Buffer.from(garbage)
        const before = accepted
        const client = new EslInboundClient({
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          password: 'ClueCon',
          prewarm: real.test.app.prewarm,
          logger,
          commandTimeoutMs: 200,
          connectTimeoutMs: 200,
          backoff: { initialDelayMs: 10_000, maxDelayMs: 10_000 },
        })
        client.start()
        await waitFor(() => accepted > before && client.state().state !== 'connecting', 'the attempt')
        await client.stop()
      }),
      { numRuns: 30 },
    )
  })
})
