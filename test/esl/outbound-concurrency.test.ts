import { afterEach, describe, expect, it } from 'vitest'
import { EslOutboundServer } from '../../src/esl/outbound-server.js'
import { runCall } from '../support/esl-fake-freeswitch-call.js'
import { FALLBACK_WAV, startHook } from '../support/esl-hook-harness.js'
import { waitFor } from '../support/esl-wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const sentence = (i: number): string => `Sentence number ${i}: your reference is ${1000 + i * 7}.`

describe('many channels at once', () => {
  it('500 channels asking for 50 new sentences cause 50 renders and each channel gets its own file', async () => {
    const hook = await startHook({ defaultDeadlineMs: 60_000, maxDeadlineMs: 60_000 }, cleanups)
    hook.test.queue.hold = true
    const calls = Array.from({ length: 500 }, (_, i) => {
      const text = sentence(i % 50)
      return { text, call: hook.start({ variables: [['tts_text', text]], full: i % 3 !== 0, async: i % 5 === 0 }) }
    })
    // Every channel is connected and waiting on one of 50 renders before any finishes.
    await waitFor(() => hook.server.stats().waiting === 500, 'all 500 channels waiting', 60_000)
    expect(hook.test.queue.heldCount).toBe(50)
    hook.test.queue.releaseAll()

    const results = await Promise.all(calls.map(async ({ text, call }) => ({ text, result: await call.result })))
    expect(hook.test.queue.renders).toBe(50)
    for (const { text, result } of results) {
      expect(result.outcome).toBe('completed')
      expect(result.played).toBe(hook.test.expectedPath(text))
      expect(result.variables.get('tts_cache_key')).toBe(hook.test.expectedKey(text))
      expect(result.unsupported).toEqual([])
    }
    const statuses = results.map(({ result }) => result.variables.get('tts_cache_status'))
    expect(statuses.filter((s) => s === 'rendered')).toHaveLength(50)
    expect(statuses.filter((s) => s === 'coalesced')).toHaveLength(450)
    expect(new Set(results.map(({ result }) => result.played)).size).toBe(50)
    await waitFor(() => hook.server.stats().completed === 500, 'every session to end')
    expect(hook.server.stats()).toMatchObject({ active: 0, hangups: 0, undelivered: 0 })
  })
})

describe('service restart while FreeSWITCH keeps calling', () => {
  it('calls fail at once while the service is down (fallback plays) and work again after it restarts', async () => {
    const first = await startHook({}, cleanups)
    const port = first.port
    const before = await runCall({ port, presetTtsFile: FALLBACK_WAV, variables: [['tts_text', sentence(1)]] })
    expect(before.played).toBe(first.test.expectedPath(sentence(1)))

    await first.server.close(0)
    const down = await runCall({ port, presetTtsFile: FALLBACK_WAV, variables: [['tts_text', sentence(1)]] })
    expect(down.outcome).toBe('refused')
    expect(down.played).toBe(FALLBACK_WAV)

    // A new process on the same port (and the same cache): FreeSWITCH just connects again.
    const restarted = new EslOutboundServer({
      host: '127.0.0.1',
      port,
      defaultDeadlineMs: 3000,
      maxDeadlineMs: 10_000,
      service: first.test.service,
      logger: first.logger,
    })
    await restarted.listen()
    cleanups.push(() => restarted.close(0))
    const after = await runCall({ port, presetTtsFile: FALLBACK_WAV, variables: [['tts_text', sentence(1)]] })
    expect(after.outcome).toBe('completed')
    expect(after.variables.get('tts_cache_status')).toBe('hit')
    expect(after.played).toBe(first.test.expectedPath(sentence(1)))
  })
})
