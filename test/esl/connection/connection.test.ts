import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeCommand, exitCommand, uuidSetvarCommand } from '../../../src/esl/codec/command.js'
import { EslConnection } from '../../../src/esl/connection/connection.js'
import { isCommandNotFound } from '../../../src/esl/connection/replies.js'
import type { EslFrame } from '../../../src/esl/codec/frame.js'
import type { EslObserver } from '../../../src/esl/ports.js'
import { ManualScheduler } from '../../fakes/esl/manual-scheduler.js'
import { socketPair } from '../../harness/esl/socket-pair.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'
import { settle, waitFor } from '../../harness/esl/wait.js'

const UUID = '3f0e9d12-62f1-42b5-9928-8ea46ca6e6f2'
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

async function setup(handlers: ConstructorParameters<typeof EslConnection>[1]['handlers'] = {}, observer?: EslObserver) {
  const pair = await socketPair()
  cleanups.push(pair.close)
  const scheduler = new ManualScheduler()
  const logger = new RecordingLogger()
  const writes: Buffer[] = []
  const realWrite = pair.ours.write.bind(pair.ours) as (chunk: Buffer) => boolean
  pair.ours.write = ((chunk: Buffer) => {
    writes.push(Buffer.from(chunk))
    return realWrite(chunk)
  }) as Socket['write']
  const received: Buffer[] = []
  pair.theirs.on('data', (b: Buffer) => received.push(b))
  const connection = new EslConnection(pair.ours, {
    side: 'outbound',
    scheduler,
    logger,
    limits: { maxHeaderBytes: 4096, maxBodyBytes: 4096 },
    commandTimeoutMs: 1000,
    observer,
    handlers,
  })
  const receivedText = (): string => Buffer.concat(received).toString()
  return { ...pair, scheduler, logger, writes, connection, receivedText }
}

const OK = 'Content-Type: api/response\nContent-Length: 4\n\n+OK\n'
const NOT_FOUND = 'Content-Type: command/reply\nReply-Text: -ERR command not found\n\n'

describe('EslConnection', () => {
  it('writes a pipelined batch in one write and matches replies in order', async () => {
    const t = await setup()
    const batch = t.connection.sendAll([uuidSetvarCommand(UUID, 'tts_file', '/a.wav'), uuidSetvarCommand(UUID, 'tts_cache_status', 'hit'), exitCommand()])
    expect(t.writes).toHaveLength(1)
    await waitFor(() => t.receivedText().endsWith('exit\n\n'), 'the batch')
    t.theirs.write(OK + OK + 'Content-Type: command/reply\nReply-Text: +OK bye\n\n')
    const replies = await batch
    expect(replies.map((r) => (r.ok ? (r.frame.header('Reply-Text') ?? r.frame.bodyText()) : r.error.code))).toEqual(['+OK\n', '+OK\n', '+OK bye'])
  })

  it('takes a command/reply -ERR as the reply to an api command (modesl routes it to the wrong queue)', async () => {
    const t = await setup()
    const reply = t.connection.send(uuidSetvarCommand(UUID, 'tts_file', '/a.wav'))
    t.theirs.write(NOT_FOUND)
    const frame: EslFrame = await reply
    expect(isCommandNotFound(frame)).toBe(true)
  })

  it('does not take events or notices for replies', async () => {
    const events: string[] = []
    const t = await setup({ event: (f) => events.push(f.contentType ?? ''), disconnectNotice: () => events.push('notice') })
    const reply = t.connection.send(exitCommand())
    t.theirs.write('Content-Length: 2\nContent-Type: text/event-plain\n\n\n\n' + 'Content-Type: command/reply\nReply-Text: +OK bye\n\n')
    expect((await reply).header('Reply-Text')).toBe('+OK bye')
    expect(events).toEqual(['text/event-plain'])
  })

  it('times out a missing reply, closes the connection and rejects every pending command', async () => {
    const outcomes: string[] = []
    const t = await setup({}, { command: (_side, name, outcome) => outcomes.push(`${name}:${outcome}`) })
    const first = t.connection.send(encodeCommand('api status', 'api status'))
    const second = t.connection.send(exitCommand())
    const firstError = first.catch((e: unknown) => e)
    const secondError = second.catch((e: unknown) => e)
    t.scheduler.advance(999)
    await settle()
    expect(t.connection.isOpen).toBe(true)
    t.scheduler.advance(1)
    expect(await firstError).toMatchObject({ code: 'TTS_ERR_ESL_TIMEOUT' })
    expect(await secondError).toMatchObject({ code: 'TTS_ERR_ESL_CLOSED' })
    expect(t.connection.isOpen).toBe(false)
    expect(outcomes).toEqual(['api status:timeout', 'exit:closed'])
  })

  it('times each reply from when its command reaches the head of the queue, with one timer for all', async () => {
    const t = await setup()
    const batch = t.connection.sendAll([uuidSetvarCommand(UUID, 'tts_file', '/a.wav'), exitCommand()])
    expect(t.scheduler.pending).toBe(1)
    t.scheduler.advance(600)
    t.theirs.write(OK)
    await waitFor(() => t.connection.pendingReplies === 1, 'the first reply')
    // The exit reply is due 1000 ms after the first reply arrived (at 1600), not at 1000.
    expect(t.scheduler.pending).toBe(1)
    t.scheduler.advance(999)
    await settle()
    expect(t.connection.isOpen).toBe(true)
    t.scheduler.advance(1)
    expect((await batch).map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'TTS_ERR_ESL_TIMEOUT'])
    expect(t.connection.isOpen).toBe(false)
    expect(t.scheduler.pending).toBe(0)
  })

  it('holds a queued command with a shorter timeout to its own timeout, and cancels the timer when idle', async () => {
    const t = await setup()
    const slow = t.connection.send(encodeCommand('connect', 'connect'), 5000)
    const next = t.connection.send(exitCommand()).catch((e: unknown) => e)
    t.scheduler.advance(100)
    t.theirs.write('Content-Type: command/reply\nReply-Text: +OK\n\n')
    await slow
    t.scheduler.advance(999)
    await settle()
    expect(t.connection.isOpen).toBe(true)
    t.scheduler.advance(1)
    expect(await next).toMatchObject({ code: 'TTS_ERR_ESL_TIMEOUT' })

    const idle = await setup()
    const reply = idle.connection.send(exitCommand())
    idle.theirs.write('Content-Type: command/reply\nReply-Text: +OK bye\n\n')
    await reply
    expect(idle.scheduler.pending).toBe(0)
  })

  it('rejects pending replies when the peer closes, and never writes afterwards', async () => {
    const t = await setup()
    const pending = t.connection.send(exitCommand()).catch((e: unknown) => e)
    t.theirs.end()
    expect(await pending).toMatchObject({ code: 'TTS_ERR_ESL_CLOSED' })
    await t.connection.closed
    const writesBefore = t.writes.length
    await expect(t.connection.send(exitCommand())).rejects.toMatchObject({ code: 'TTS_ERR_ESL_CLOSED' })
    expect(t.writes.length).toBe(writesBefore)
  })

  it('closes on malformed bytes instead of throwing out of the data handler', async () => {
    let protocolErrors = 0
    const t = await setup({}, { protocolError: () => protocolErrors++ })
    const pending = t.connection.send(exitCommand()).catch((e: unknown) => e)
    t.theirs.write('this is not a header\n\n')
    expect(await pending).toMatchObject({ code: 'TTS_ERR_ESL_CLOSED' })
    expect(await t.connection.closed).toMatchObject({ code: 'TTS_ERR_ESL_PROTOCOL' })
    expect(protocolErrors).toBe(1)
  })

  it('ignores a reply nobody asked for', async () => {
    const t = await setup()
    t.theirs.write(OK)
    await waitFor(() => t.logger.at('warn').length > 0, 'the warning')
    expect(t.connection.isOpen).toBe(true)
  })

  it('keeps going when an observer throws', async () => {
    const t = await setup({}, {
      command: () => {
        throw new Error('metrics bug')
      },
    })
    const reply = t.connection.send(exitCommand())
    t.theirs.write('Content-Type: command/reply\nReply-Text: +OK bye\n\n')
    expect((await reply).header('Reply-Text')).toBe('+OK bye')
    expect(t.logger.text()).toContain('observer threw')
  })
})
