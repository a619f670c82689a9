import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EslFrameParser } from '../../../src/esl/codec/frame-parser.js'
import type { EslFrame } from '../../../src/esl/codec/frame.js'
import { CAPTURES_DIR, captureBytes, referenceFrames, transcript } from '../../fakes/freeswitch/captures.js'

const LIMITS = { maxHeaderBytes: 256 * 1024, maxBodyBytes: 4 * 1024 * 1024 }

function parseAll(chunks: readonly Uint8Array[]): EslFrame[] {
  const parser = new EslFrameParser(LIMITS)
  const frames: EslFrame[] = []
  for (const chunk of chunks) frames.push(...parser.push(chunk).frames)
  expect(parser.error).toBeUndefined()
  expect(parser.bufferedBytes).toBe(0)
  return frames
}

const captures = ['inbound', 'outbound'].flatMap((dir) =>
  readdirSync(join(CAPTURES_DIR, dir))
    .filter((f) => f.endsWith('.fs2peer.raw'))
    .map((f) => `${dir}/${f}`),
)

describe('EslFrameParser replaying captured FreeSWITCH bytes', () => {
  it('finds captures to replay', () => {
    expect(captures.length).toBeGreaterThan(40)
  })

  it.each(captures)('cuts %s into the same frames as the reference splitter', (file) => {
    const bytes = captureBytes(file)
    const expected = referenceFrames(bytes)
    const frames = parseAll([bytes])
    expect(frames).toHaveLength(expected.length)
    frames.forEach((frame, i) => {
      const ref = expected[i]
      if (ref === undefined) throw new Error('missing reference frame')
      expect(frame.headers.map(([n, v]) => `${n}: ${v}`).join('\n')).toBe(ref.headerText)
      expect(frame.body === undefined ? undefined : Buffer.compare(frame.body, ref.body ?? Buffer.alloc(0))).toBe(
        ref.body === undefined ? undefined : 0,
      )
    })
  })

  it.each(captures)('gives the same frames for %s when fed in the captured TCP chunks and byte by byte', (file) => {
    const bytes = captureBytes(file)
    const whole = parseAll([bytes])
    const chunks = transcript(file.replace('.fs2peer.raw', '.transcript.jsonl'))
      .filter((e) => e.dir === 'fs->peer')
      .map((e) => Buffer.from(e.text, 'utf8'))
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true)
    const chunked = parseAll(chunks)
    const bytewise = parseAll([...bytes].map((b) => Uint8Array.of(b)))
    const shape = (frames: EslFrame[]): unknown => frames.map((f) => [f.headers, f.body?.toString('hex')])
    expect(shape(chunked)).toEqual(shape(whole))
    expect(shape(bytewise)).toEqual(shape(whole))
  })

  it('reads the outbound walk frame by frame: CHANNEL_DATA, replies, events, notice', () => {
    const frames = parseAll([captureBytes('outbound/out-full_walk-asyncfull.outbound.fs2peer.raw')])
    const types = frames.map((f) => f.header('Event-Name') ?? f.contentType)
    expect(types[0]).toBe('CHANNEL_DATA')
    expect(frames[0]?.contentType).toBe('command/reply')
    expect(frames[0]?.header('Control')).toBe('full')
    expect(frames[0]?.body).toBeUndefined()
    expect(types.slice(1, 6)).toEqual(['command/reply', 'command/reply', 'command/reply', 'api/response', 'api/response'])
    // uuid_getvar: a body with no trailing newline, immediately followed by the next frame.
    expect(frames[4]?.bodyText()).toBe('Hello World')
    expect(frames[5]?.bodyText()).toBe('+OK\n')
    expect(frames[6]?.contentType).toBe('text/event-plain')
    expect(frames.at(-1)?.contentType).toBe('text/disconnect-notice')
    expect(frames.at(-1)?.header('Content-Disposition')).toBe('disconnect')
  })

  it('keeps header values raw: a bare % is data, not an error (modesl throws URIError here)', () => {
    const parser = new EslFrameParser(LIMITS)
    const { frames, error } = parser.push(Buffer.from('Content-Type: command/reply\nReply-Text: 50%\n\n'))
    expect(error).toBeUndefined()
    expect(frames[0]?.header('Reply-Text')).toBe('50%')
  })

  it('cuts a multibyte UTF-8 body at Content-Length bytes even when a read splits a character', () => {
    const body = 'Grüße 你好 – ok'
    const bytes = Buffer.from(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}Content-Type: command/reply\nReply-Text: +OK\n\n`)
    const split = bytes.indexOf(Buffer.from('你')) + 1
    const frames = parseAll([bytes.subarray(0, split), bytes.subarray(split)])
    expect(frames.map((f) => f.bodyText())).toEqual([body, ''])
    expect(frames[1]?.header('Reply-Text')).toBe('+OK')
  })

  it('accepts CRLF line ends and skips blank lines between frames, as FreeSWITCH does', () => {
    const frames = parseAll([Buffer.from('\n\nContent-Type: command/reply\r\nReply-Text: +OK\r\n\r\n\nContent-Type: auth/request\n\n')])
    expect(frames.map((f) => f.contentType)).toEqual(['command/reply', 'auth/request'])
    expect(frames[0]?.header('reply-text')).toBe('+OK')
  })

  it('refuses a header block larger than the limit, and stops', () => {
    const parser = new EslFrameParser({ maxHeaderBytes: 64, maxBodyBytes: 64 })
    const result = parser.push(Buffer.from(`X-Long: ${'a'.repeat(100)}`))
    expect(result.error?.code).toBe('TTS_ERR_ESL_PROTOCOL')
    expect(parser.push(Buffer.from('\n\nContent-Type: command/reply\n\n')).frames).toHaveLength(0)
  })

  it.each([
    ['a negative length', 'Content-Length: -1'],
    ['text', 'Content-Length: abc'],
    ['a length over the limit', 'Content-Length: 99999999'],
  ])('refuses a Content-Length that is %s', (_what, header) => {
    const parser = new EslFrameParser({ maxHeaderBytes: 1024, maxBodyBytes: 1024 })
    expect(parser.push(Buffer.from(`Content-Type: api/response\n${header}\n\n`)).error?.code).toBe('TTS_ERR_ESL_PROTOCOL')
  })

  it('refuses a header line with no colon', () => {
    const parser = new EslFrameParser(LIMITS)
    expect(parser.push(Buffer.from('Content-Type: command/reply\ngarbage line\n\n')).error?.code).toBe('TTS_ERR_ESL_PROTOCOL')
  })
})
