/**
 * Malformed ESL input costs one short log line, not a stack (issue 17, item 7): fuzzing the hook
 * produced 2,085 warn lines of ~1.2 KB each. Each protocol error is one warn line with the peer
 * and the reason (the stack only at debug); a burst is logged up to a limit per window and the
 * rest summed up in one line when the window ends. The hook runs in front of the real app; the
 * window is driven by a manual clock.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { PROTOCOL_ERROR_LOG_DEFAULTS } from '../../src/esl/connection/protocol-error-log.js'
import { serializeError } from '../../src/log-redaction.js'
import { startHook } from '../harness/esl/hook.js'
import { ManualScheduler } from '../fakes/esl/manual-scheduler.js'
import type { LogEntry } from '../fakes/esl/recording-logger.js'
import { waitFor } from '../harness/esl/wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const TEXT = 'Your balance is forty two pounds'

/** One entry as the service's logger writes it: errors through its `err` serializer (stacks included). */
function lineOf(entry: LogEntry): string {
  const fields = Object.fromEntries(Object.entries(entry.obj).map(([k, v]) => [k, v instanceof Error ? serializeError(v) : v]))
  return JSON.stringify({ ...entry.bindings, ...fields, msg: entry.msg })
}

describe('a malformed frame from FreeSWITCH', () => {
  it.each([
    ['a header line without a colon', Buffer.from('Event-Name: CHANNEL_DATA\nthis is not a header\n\n')],
    ['a bad Content-Length', Buffer.from('Content-Type: command/reply\nContent-Length: lots\n\n')],
    ['a refused connect', Buffer.from('Content-Type: command/reply\nReply-Text: -ERR command not found\n\n')],
  ])('produces exactly one warn line, with the peer and the reason and no stack (%s)', async (_what, bytes) => {
    const hook = await startHook({}, cleanups)
    await hook.call({ channelDataOverride: bytes, variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    const warns = hook.logger.at('warn').concat(hook.logger.at('error'))
    expect(warns.map((e) => e.msg)).toHaveLength(1)
    const [warn] = warns as [LogEntry]
    const line = lineOf(warn)
    expect(line).not.toMatch(/stack|\n\s+at /)
    expect(warn.obj).toMatchObject({ side: 'outbound', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown, reason: expect.any(String) as unknown })
    expect(line.length).toBeLessThan(400)
    // The stack is still there for whoever turns debug on.
    expect(hook.logger.at('debug').some((e) => lineOf(e).includes('stack'))).toBe(true)
  })
})

describe('a burst of malformed connections', () => {
  it('logs the first ones one line each, then one summary line when the window ends', async () => {
    const scheduler = new ManualScheduler()
    const hook = await startHook({ scheduler }, cleanups)
    const { burst, windowMs } = PROTOCOL_ERROR_LOG_DEFAULTS
    const total = burst + 7
    for (let i = 0; i < total; i++) {
      await hook.call({ channelDataOverride: Buffer.from('Event-Name: CHANNEL_DATA\nnot a header\n\n'), variables: [['tts_cache_text', TEXT]] })
    }
    await waitFor(() => hook.server.stats().completed === total, 'every session to end')
    expect(hook.observer.protocolErrors).toBe(total)
    expect(hook.logger.at('warn')).toHaveLength(burst)
    scheduler.advance(windowMs)
    const warns = hook.logger.at('warn')
    expect(warns).toHaveLength(burst + 1)
    expect(warns.at(-1)?.obj).toMatchObject({ side: 'outbound', suppressed: 7 })
    // A new window logs again.
    await hook.call({ channelDataOverride: Buffer.from('Event-Name: CHANNEL_DATA\nnot a header\n\n'), variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.logger.at('warn').length === burst + 2, 'the next window')
    expect(hook.logger.at('warn').at(-1)?.obj).toMatchObject({ peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown })
  })
})
