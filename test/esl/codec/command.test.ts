import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  authCommand,
  connectCommand,
  encodeCommand,
  eventPlainCommand,
  exitCommand,
  sendmsgSetCommand,
  uuidSetvarCommand,
} from '../../../src/esl/codec/command.js'
import { peerWrites, OUTBOUND_TRANSCRIPT } from '../../fakes/freeswitch/captures.js'

const UUID = '3f0e9d12-62f1-42b5-9928-8ea46ca6e6f2'

describe('command encoder', () => {
  it('writes the exact bytes the captured peer wrote', () => {
    const full = peerWrites(OUTBOUND_TRANSCRIPT('q3-phrase-full-api_setvar'))
    expect(connectCommand().text).toBe(full[0])
    expect(uuidSetvarCommand(UUID, 'tts_file', '/tmp/x.wav').text).toBe(full[1])
    expect(exitCommand().text).toBe(full[2])
    const nofull = peerWrites(OUTBOUND_TRANSCRIPT('q3-phrase-nofull-sendmsg_set'))
    expect(sendmsgSetCommand('tts_file', '/tmp/y.wav').text).toBe(nofull[1])
    expect(eventPlainCommand(['HEARTBEAT']).text).toBe('event plain HEARTBEAT\n\n')
    expect(authCommand('ClueCon').text).toBe('auth ClueCon\n\n')
  })

  it('names commands without their arguments (no password, no channel data in logs)', () => {
    expect(authCommand('s3cret').name).toBe('auth')
    expect(uuidSetvarCommand(UUID, 'tts_file', '/var/x.wav').name).toBe('api uuid_setvar')
    expect(sendmsgSetCommand('tts_cache_status', 'hit').name).toBe('sendmsg')
  })

  it.each([
    ['LF in a value', () => uuidSetvarCommand(UUID, 'tts_file', '/tmp/a\nexit')],
    ['CR in a value', () => uuidSetvarCommand(UUID, 'tts_file', '/tmp/a\rapi x')],
    ['LF in a sendmsg value', () => sendmsgSetCommand('tts_file', '/tmp/a\n\nexit')],
    ['a bad variable name', () => sendmsgSetCommand('tts file', '/tmp/a')],
    ['a bad uuid', () => uuidSetvarCommand(`${UUID} x`, 'tts_file', '/tmp/a')],
    ['CRLF in a line', () => encodeCommand('x', 'api status\r\nexit')],
    ['NUL in a header', () => encodeCommand('x', 'sendmsg', [['execute-app-arg', 'a\0b']])],
    ['LF in a header name', () => encodeCommand('x', 'sendmsg', [['a\nb', 'c']])],
    ['an event word with a space', () => eventPlainCommand(['CUSTOM x\nexit'])],
  ])('refuses %s', (_what, build) => {
    expect(build).toThrow(expect.objectContaining({ code: 'TTS_ERR_ESL_PROTOCOL' }))
  })

  it('refuses a password with a line break, as configuration error, without echoing it', () => {
    try {
      authCommand('pw\nexit')
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({ code: 'TTS_ERR_CONFIG' })
      expect(String((err as Error).message)).not.toContain('pw')
    }
  })

  it('never produces a command with a CR or LF except the framing, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (name, value) => {
        for (const build of [
          () => uuidSetvarCommand(UUID, name, value),
          () => sendmsgSetCommand(name, value),
          () => encodeCommand('x', name, [['h', value]]),
        ]) {
          let bytes: Buffer
          try {
            bytes = Buffer.from(build().text)
          } catch (err) {
            expect(err).toMatchObject({ code: 'TTS_ERR_ESL_PROTOCOL' })
            continue
          }
          const text = bytes.toString('utf8')
          expect(text.endsWith('\n\n')).toBe(true)
          const body = text.slice(0, -2)
          expect(body).not.toMatch(/\r|\n\n|\0/)
          // Every line is the command or a "Name: value" header: nothing can start a new command.
          body.split('\n').slice(1).forEach((line) => expect(line).toMatch(/^[A-Za-z][A-Za-z0-9_-]*: /))
        }
      }),
    )
  })
})
