import { describe, expect, it } from 'vitest'
import { parseChannelData } from '../../../src/esl/codec/channel-data.js'
import { parseEventFrame } from '../../../src/esl/codec/event.js'
import type { EslFrame } from '../../../src/esl/codec/frame.js'
import { EslFrameParser } from '../../../src/esl/codec/frame-parser.js'
import { percentDecode, percentDecodeStrict } from '../../../src/esl/codec/percent-decode.js'
import { captureBytes, OUTBOUND } from '../../fakes/freeswitch/captures.js'

function frames(file: string): EslFrame[] {
  const parser = new EslFrameParser({ maxHeaderBytes: 256 * 1024, maxBodyBytes: 4 * 1024 * 1024 })
  return [...parser.push(captureBytes(file)).frames]
}

function events(file: string): EslFrame[] {
  return frames(file).filter((f) => f.contentType?.startsWith('text/event-') === true)
}

describe('percentDecode', () => {
  it.each([
    ['%2BOK%0A', '+OK\n'],
    ['tts_cache%3A%3Arequest', 'tts_cache::request'],
    ['Hello%20World', 'Hello World'],
    ['Gr%C3%BC%C3%9Fe', 'Grüße'],
    ['50%', '50%'],
    ['100% sure', '100% sure'],
    ['%zz%4', '%zz%4'],
    ['plain', 'plain'],
  ])('decodes %j as %j and never throws', (raw, decoded) => {
    expect(percentDecode(raw)).toBe(decoded)
  })

  it('refuses invalid UTF-8 in strict mode and replaces it otherwise', () => {
    expect(percentDecodeStrict('ok%FF')).toBeUndefined()
    expect(percentDecode('ok%FF')).toBe('ok\uFFFD')
    expect(percentDecodeStrict('Gr%C3%BC%C3%9Fe')).toBe('Grüße')
  })
})

describe('parseEventFrame on captured events', () => {
  it('reads a plain CUSTOM event: subclass decoded, header order kept (in-05)', () => {
    const [frame] = events('inbound/in-05-event-plain-custom-subclass.fs2peer.raw')
    if (frame === undefined) throw new Error('no event')
    const parsed = parseEventFrame(frame)
    if (!parsed.ok) throw new Error(parsed.reason)
    expect(parsed.event.name).toBe('CUSTOM')
    expect(parsed.event.subclass).toBe('tts_cache::request')
    expect(parsed.event.headers.get('tts_text')).toBe('Hello')
    expect(parsed.event.headers.get('FreeSWITCH-IPv6')).toBe('fd00::2')
    expect([...parsed.event.headers.keys()][0]).toBe('Event-Subclass')
    expect(parsed.event.body).toBeUndefined()
  })

  it('reads the same event in json (in-06)', () => {
    const [frame] = events('inbound/in-06-event-json-custom-subclass.fs2peer.raw')
    if (frame === undefined) throw new Error('no event')
    const parsed = parseEventFrame(frame)
    if (!parsed.ok) throw new Error(parsed.reason)
    expect(parsed.event.subclass).toBe('tts_cache::request')
    expect(parsed.event.headers.get('tts_text')).toBe('Hello')
  })

  it('reads a sendevent body although Content-Length appears twice (in-08 subscriber)', () => {
    const [frame] = events('inbound/in-08-sendevent-custom.subscriber.fs2peer.raw')
    if (frame === undefined) throw new Error('no event')
    const parsed = parseEventFrame(frame)
    if (!parsed.ok) throw new Error(parsed.reason)
    expect(parsed.event.headers.get('tts_text')).toBe('Hello World')
    expect(parsed.event.body).toBe('Hello body')
  })

  it('reads HEARTBEAT (in-09)', () => {
    const [frame] = events('inbound/in-09-heartbeat.fs2peer.raw')
    if (frame === undefined) throw new Error('no event')
    const parsed = parseEventFrame(frame)
    if (!parsed.ok) throw new Error(parsed.reason)
    expect(parsed.event.name).toBe('HEARTBEAT')
    expect(parsed.event.headers.get('Event-Info')).toBe('System Ready')
  })

  it.each(['inbound/in-13-event-plain-ALL-one-call.fs2peer.raw', 'inbound/in-14-event-json-ALL-one-call.fs2peer.raw'])(
    'parses every event of a whole call (%s)',
    (file) => {
      const all = events(file)
      expect(all.length).toBeGreaterThan(10)
      for (const frame of all) {
        const parsed = parseEventFrame(frame)
        expect(parsed.ok).toBe(true)
        if (parsed.ok) expect(parsed.event.name).not.toBe('')
      }
    },
  )

  it('reports a broken JSON event instead of throwing', () => {
    const parser = new EslFrameParser({ maxHeaderBytes: 1024, maxBodyBytes: 1024 })
    const [frame] = parser.push(Buffer.from('Content-Length: 5\nContent-Type: text/event-json\n\n{"a":')).frames
    if (frame === undefined) throw new Error('no frame')
    expect(parseEventFrame(frame).ok).toBe(false)
  })
})

describe('parseChannelData on captured connect replies', () => {
  it.each([
    ['q3-phrase-full-api_setvar', 'full', 'static'],
    ['q3-phrase-syncfull-api_setvar', 'full', 'static'],
    ['q3-phrase-asyncfull-api_setvar', 'full', 'async'],
    ['q3-phrase-nofull-sendmsg_set', 'single-channel', 'static'],
    ['out-full_walk-nofull', 'single-channel', 'static'],
  ])('reads %s: Control %s, Socket-Mode %s, Unique-ID and tts_text', (scenario, control, mode) => {
    const [frame] = frames(OUTBOUND(scenario))
    if (frame === undefined) throw new Error('no frame')
    const parsed = parseChannelData(frame)
    if (!parsed.ok) throw new Error(parsed.reason)
    expect(parsed.data.control).toBe(control)
    expect(parsed.data.socketMode).toBe(mode)
    expect(parsed.data.uuid).toBe(frame.header('Unique-ID'))
    expect(parsed.data.variable('tts_text')).toBe('Hello World')
    expect(parsed.data.variable('current_application')).toBe('socket')
    expect(parsed.data.variable('tts_voice')).toBeUndefined()
  })

  it('refuses a connect reply that is not +OK', () => {
    const parser = new EslFrameParser({ maxHeaderBytes: 1024, maxBodyBytes: 1024 })
    const [frame] = parser.push(Buffer.from('Content-Type: command/reply\nReply-Text: -ERR command not found\n\n')).frames
    if (frame === undefined) throw new Error('no frame')
    expect(parseChannelData(frame).ok).toBe(false)
  })
})
