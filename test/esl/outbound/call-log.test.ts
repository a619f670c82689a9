/**
 * The one log line per tts_cache call (issue 20): uuid, status, key and ms at TTS_ESL_CALL_LOG
 * (info by default, debug, or off); a call answered `error` warns with its code whatever the
 * setting. Real app behind the hook; FreeSWITCH is the capture-checked double.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { isTtsError } from '../../../src/core/errors.js'
import { loadConfig } from '../../../src/config/load-config.js'
import type { LogEntry } from '../../fakes/esl/recording-logger.js'
import { startHook, type Hook } from '../../harness/esl/hook.js'
import { waitFor } from '../../harness/esl/wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const TEXT = 'One line for every call'

/** The entries that name this call's channel (at info and above, unless `withDebug`). */
function linesOf(hook: Hook, uuid: string, withDebug = false): LogEntry[] {
  return hook.logger.entries.filter((e) => (withDebug || e.level !== 'debug') && ((e.obj as { uuid?: unknown }).uuid === uuid || e.bindings['uuid'] === uuid))
}

async function callAndWait(hook: Hook, text: string, calls: number): Promise<{ uuid: string; key: string | undefined }> {
  const result = await hook.call({ variables: [['tts_cache_text', text]] })
  await waitFor(() => hook.server.stats().completed === calls, 'the session to end')
  return { uuid: result.uuid, key: result.variables.get('tts_cache_key') }
}

describe('the per-call line', () => {
  it('logs each call once at info by default: uuid, status, key and ms', async () => {
    const hook = await startHook({}, cleanups)
    const first = await callAndWait(hook, TEXT, 1)
    const second = await callAndWait(hook, TEXT, 2)
    for (const [call, status] of [[first, 'rendered'], [second, 'hit']] as const) {
      const lines = linesOf(hook, call.uuid)
      expect(lines.map((e) => [e.level, e.msg])).toEqual([['info', 'tts_cache call']])
      expect(lines[0]?.obj).toEqual({ uuid: call.uuid, status, key: call.key, ms: expect.any(Number) as unknown })
      expect(call.key).toMatch(/^[0-9a-f]{16,}$/)
    }
  })

  it('logs it at debug with callLog debug, and not at all with off', async () => {
    const atDebug = await startHook({ callLog: 'debug' }, cleanups)
    const a = await callAndWait(atDebug, TEXT, 1)
    expect(linesOf(atDebug, a.uuid)).toEqual([])
    expect(linesOf(atDebug, a.uuid, true).filter((e) => e.msg === 'tts_cache call').map((e) => e.level)).toEqual(['debug'])
    const off = await startHook({ callLog: 'off' }, cleanups)
    const b = await callAndWait(off, TEXT, 1)
    expect(linesOf(off, b.uuid, true).filter((e) => e.msg?.startsWith('tts_cache call') === true)).toEqual([])
  })

  it('warns for a call answered with the fallback (error), with its code, whatever the setting', async () => {
    const hook = await startHook({ callLog: 'off' }, cleanups)
    const call = await callAndWait(hook, '   ', 1)
    const lines = linesOf(hook, call.uuid)
    expect(lines.map((e) => [e.level, e.msg])).toEqual([['warn', 'tts_cache call answered with the fallback (error)']])
    expect(lines[0]?.obj).toMatchObject({ uuid: call.uuid, status: 'error', code: expect.stringMatching(/^TTS_ERR_/) as unknown, ms: expect.any(Number) as unknown })
  })

  it('logs a call whose caller hung up before the audio was ready once, at the call level', async () => {
    const hook = await startHook({}, cleanups)
    hook.gate.hold()
    const call = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.gate.heldCount === 1, 'the render')
    call.hangup()
    const result = await call.result
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    hook.gate.release()
    const lines = linesOf(hook, result.uuid)
    expect(lines.map((e) => e.level)).toEqual(['info'])
    expect(lines[0]?.obj).toMatchObject({ uuid: result.uuid, hungUp: true, ms: expect.any(Number) as unknown })
  })
})

describe('TTS_ESL_CALL_LOG', () => {
  it('is info by default and takes debug or off', () => {
    expect(loadConfig({ env: {} }).eslCallLog).toBe('info')
    expect(loadConfig({ env: { TTS_ESL_CALL_LOG: 'debug' } }).eslCallLog).toBe('debug')
    expect(loadConfig({ env: { TTS_ESL_CALL_LOG: 'off' } }).eslCallLog).toBe('off')
  })

  it('refuses another value, naming the variable', () => {
    let issues: string[] = []
    try {
      loadConfig({ env: { TTS_ESL_CALL_LOG: 'verbose' } })
    } catch (err) {
      if (!isTtsError(err, 'TTS_ERR_CONFIG')) throw err
      issues = err.details['issues'] as string[]
    }
    expect(issues.join('\n')).toMatch(/TTS_ESL_CALL_LOG/)
  })
})
