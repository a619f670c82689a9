/**
 * Many channels and restarts on the real app: real TtsService, DiskStore on a temp dir,
 * espeak-ng + sox in the in-process pool, real sockets. Renders are counted on the real
 * renderer (buildApp's wrapRenderer) and held there until every channel is waiting, so the
 * counts do not depend on timing.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { EslOutboundServer } from '../../../src/esl/outbound/server.js'
import { runCall } from '../../fakes/freeswitch/call.js'
import { FALLBACK_WAV, isWavFile, startHook, startRealApp } from '../../harness/esl/hook.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'
import { waitFor } from '../../harness/esl/wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const sentence = (i: number): string => `Sentence number ${i}: your reference is ${1000 + i * 7}.`

describe('many channels at once', () => {
  it('500 channels asking for 50 new sentences cause 50 renders and each channel gets its own file', async () => {
    const hook = await startHook({ defaultDeadlineMs: 60_000, maxDeadlineMs: 60_000 }, cleanups)
    hook.gate.hold()
    const calls = Array.from({ length: 500 }, (_, i) => {
      const text = sentence(i % 50)
      return { text, call: hook.start({ variables: [['tts_cache_text', text]], full: i % 3 !== 0, async: i % 5 === 0 }) }
    })
    // Every channel is connected and waiting on one of 50 renders before any render may run.
    await waitFor(() => hook.server.stats().waiting === 500, 'all 500 channels waiting', 60_000)
    expect(hook.test.app.service.inFlight).toBe(50)
    hook.gate.release()

    const results = await Promise.all(calls.map(async ({ text, call }) => ({ text, result: await call.result })))
    expect(hook.renders()).toBe(50)
    for (const { text, result } of results) {
      expect(result.outcome).toBe('completed')
      // Its own text's file: the key the app computes for this text, the path the DiskStore gives it.
      expect(result.played).toBe(hook.expectedPath(text))
      expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(text))
      expect(result.unsupported).toEqual([])
    }
    const statuses = results.map(({ result }) => result.variables.get('tts_cache_status'))
    expect(statuses.filter((s) => s === 'rendered')).toHaveLength(50)
    expect(statuses.filter((s) => s === 'coalesced')).toHaveLength(450)
    const files = new Set(results.map(({ result }) => result.played ?? ''))
    expect(files.size).toBe(50)
    for (const file of files) expect(await isWavFile(file)).toBe(true)
    expect(new Set(hook.gate.started.map((job) => job.request.text))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => sentence(i))))
    await waitFor(() => hook.server.stats().completed === 500, 'every session to end')
    expect(hook.server.stats()).toMatchObject({ active: 0, hangups: 0, undelivered: 0 })
  })
})

describe('many channels on one new phrase (fan-out)', () => {
  it('200 channels on one new phrase: one render, one index lookup per channel and none after the render, the rendering call answered before every waiter', async () => {
    const hook = await startHook({ defaultDeadlineMs: 60_000, maxDeadlineMs: 60_000 }, cleanups)
    const store = hook.test.app.store
    const realLookup = store.lookup.bind(store)
    let lookups = 0
    store.lookup = (key) => {
      lookups++
      return realLookup(key)
    }
    const text = sentence(4242)
    hook.gate.hold()
    const calls = Array.from({ length: 200 }, (_, i) => hook.start({ variables: [['tts_cache_text', text]], full: i % 2 === 0 }))
    await waitFor(() => hook.server.stats().waiting === 200, 'all 200 channels waiting', 60_000)
    expect(hook.test.app.service.inFlight).toBe(1)
    const lookupsBeforeRender = lookups
    hook.gate.release()

    const results = await Promise.all(calls.map((call) => call.result))
    expect(hook.renders()).toBe(1)
    // Each channel looked once (a miss) before it joined the render; the waiters get the
    // rendering call's entry, with no lookup (no stat) of their own after it.
    expect(lookupsBeforeRender).toBe(200)
    expect(lookups).toBe(200)
    for (const result of results) {
      expect(result.outcome).toBe('completed')
      expect(result.played).toBe(hook.expectedPath(text))
    }
    const statuses = results.map((r) => r.variables.get('tts_cache_status'))
    expect(statuses.filter((s) => s === 'rendered')).toHaveLength(1)
    expect(statuses.filter((s) => s === 'coalesced')).toHaveLength(199)
    // Answers in the order the service wrote them: the rendering call's first.
    expect(hook.observer.answers.map((a) => a.status)).toEqual(['rendered', ...Array<string>(199).fill('coalesced')])
    await waitFor(() => hook.server.stats().completed === 200, 'every session to end')
    expect(hook.server.stats()).toMatchObject({ active: 0, hangups: 0, undelivered: 0 })
  })
})

describe('service restart while FreeSWITCH keeps calling', () => {
  it('calls fail at once while the service is down (fallback plays) and hit the same files after it restarts', async () => {
    const first = await startRealApp({}, cleanups)
    const firstHook = await startHook({}, cleanups, { app: first })
    const port = firstHook.port
    const before = await runCall({ port, presetTtsFile: FALLBACK_WAV, variables: [['tts_cache_text', sentence(1)]] })
    expect(before.variables.get('tts_cache_status')).toBe('rendered')
    expect(before.played).toBe(first.expectedPath(sentence(1)))

    // A call is mid-render when the process is told to stop: it gets the fallback (status error),
    // and the render is finished within the grace period and committed.
    first.gate.hold()
    const inFlight = firstHook.start({ variables: [['tts_cache_text', sentence(2)]] })
    await waitFor(() => first.gate.heldCount === 1 && firstHook.server.stats().waiting === 1, 'the render in flight')
    await firstHook.server.close(0)
    const cut = await inFlight.result
    expect(cut.variables.get('tts_cache_status')).toBe('error')
    expect(cut.played).toBe(FALLBACK_WAV)
    first.gate.release()
    await first.test.app.close(10_000)
    expect(await isWavFile(first.expectedPath(sentence(2)))).toBe(true)

    const down = await runCall({ port, presetTtsFile: FALLBACK_WAV, variables: [['tts_cache_text', sentence(1)]] })
    expect(down.outcome).toBe('refused')
    expect(down.played).toBe(FALLBACK_WAV)

    // A new process on the same port and the same cache dir: its DiskStore finds the files.
    const second = await startRealApp({ TTS_CACHE_DIR: first.test.cacheDir }, cleanups)
    const restarted = new EslOutboundServer({
      host: '127.0.0.1',
      port,
      defaultDeadlineMs: 3000,
      maxDeadlineMs: 10_000,
      service: second.test.app.service,
      logger: new RecordingLogger(),
    })
    await restarted.listen()
    cleanups.push(() => restarted.close(0))
    for (const text of [sentence(1), sentence(2)]) {
      const after = await runCall({ port, presetTtsFile: FALLBACK_WAV, variables: [['tts_cache_text', text]] })
      expect(after.outcome).toBe('completed')
      expect(after.variables.get('tts_cache_status')).toBe('hit')
      expect(after.played).toBe(first.expectedPath(text))
      expect(after.played).toBe(second.expectedPath(text))
    }
    expect(second.renders()).toBe(0)
  })
})
