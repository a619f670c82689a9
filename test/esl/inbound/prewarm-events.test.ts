/** The dispatcher in front of the real app (TtsService, DiskStore, espeak-ng + sox, pool). */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parseEventFrame, type EslEvent } from '../../../src/esl/codec/event.js'
import { EslFrameParser } from '../../../src/esl/codec/frame-parser.js'
import { PrewarmDispatcher } from '../../../src/esl/inbound/prewarm-events.js'
import { startRealApp } from '../../harness/esl/hook.js'
import { plainEvent } from '../../fakes/freeswitch/frames.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'
import { waitFor } from '../../harness/esl/wait.js'

function event(headers: [string, string][]): EslEvent {
  const [frame] = new EslFrameParser({ maxHeaderBytes: 1 << 16, maxBodyBytes: 1 << 16 }).push(Buffer.from(plainEvent(headers))).frames
  if (frame === undefined) throw new Error('no frame')
  const parsed = parseEventFrame(frame)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.event
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('PrewarmDispatcher', () => {
  const logger = new RecordingLogger()

  it('acts on CUSTOM tts_cache::prewarm only (modesl would have needed the Unique-ID)', async () => {
    const real = await startRealApp({}, cleanups)
    const render = vi.spyOn(real.test.app.queue, 'render')
    const dispatcher = new PrewarmDispatcher({ prewarm: real.test.app.prewarm, logger, observer: undefined, subclass: 'tts_cache::prewarm', maxInFlight: 10 })
    expect(dispatcher.handle(event([['Event-Name', 'CUSTOM'], ['Event-Subclass', 'tts_cache::request'], ['tts_cache_text', 'no']]))).toBe(false)
    expect(dispatcher.handle(event([['Event-Name', 'HEARTBEAT']]))).toBe(false)
    expect(dispatcher.handle(event([['Event-Subclass', 'tts_cache::prewarm'], ['Event-Name', 'CUSTOM'], ['tts_cache_text', 'Welcome'], ['tts_cache_voice', '']]))).toBe(true)
    await waitFor(() => dispatcher.stats().inFlight === 0, 'the render')
    expect(render.mock.calls.map(([job, options]) => [job.request.text, job.request.voice, options.priority])).toEqual([['Welcome', real.test.app.config.voice, 'prewarm']])
    expect(await real.isCached('Welcome')).toBe(true)
    expect(await real.isCached('no')).toBe(false)
  })

  it("goes through the app's pre-warm tracker: a phrase already cached is counted as cached, never handed over", async () => {
    const real = await startRealApp({}, cleanups)
    await real.test.app.service.get({ text: 'Already here' })
    const request = vi.spyOn(real.test.app.prewarm, 'request')
    const render = vi.spyOn(real.test.app.queue, 'render')
    const dispatcher = new PrewarmDispatcher({ prewarm: real.test.app.prewarm, logger, observer: undefined, subclass: 'tts_cache::prewarm', maxInFlight: 10 })
    dispatcher.handle(event([['Event-Subclass', 'tts_cache::prewarm'], ['Event-Name', 'CUSTOM'], ['tts_cache_text', 'Already here']]))
    expect(await request.mock.results[0]?.value.finished).toMatchObject({ state: 'done', total: 1, cached: 1, done: 1, rendered: 0 })
    await waitFor(() => dispatcher.stats().inFlight === 0, 'the request')
    expect(render).not.toHaveBeenCalled()
    expect(dispatcher.stats()).toMatchObject({ accepted: 1, dropped: 0, invalid: 0 })
  })

  it('logs a failed pre-warm with its code instead of losing it', async () => {
    const real = await startRealApp({}, cleanups)
    const dispatcher = new PrewarmDispatcher({ prewarm: real.test.app.prewarm, logger, observer: undefined, subclass: 'tts_cache::prewarm', maxInFlight: 10 })
    dispatcher.handle(event([['Event-Subclass', 'tts_cache::prewarm'], ['Event-Name', 'CUSTOM'], ['tts_cache_text', 'x'], ['tts_cache_engine', 'nosuchengine']]))
    await waitFor(() => dispatcher.stats().inFlight === 0, 'the failure')
    expect(logger.at('warn').some((e) => (e.obj as { code?: string }).code === 'TTS_ERR_UNKNOWN_ENGINE')).toBe(true)
  })

  it('refuses tts_cache_text that is not valid UTF-8', async () => {
    const real = await startRealApp({}, cleanups)
    const dispatcher = new PrewarmDispatcher({ prewarm: real.test.app.prewarm, logger, observer: undefined, subclass: 'tts_cache::prewarm', maxInFlight: 10 })
    const [frame] = new EslFrameParser({ maxHeaderBytes: 1 << 16, maxBodyBytes: 1 << 16 }).push(
      Buffer.from(plainEvent([['Event-Subclass', 'tts_cache::prewarm'], ['Event-Name', 'CUSTOM']]).replace('Event-Name: CUSTOM\n', 'Event-Name: CUSTOM\ntts_cache_text: caf%C3%28\n').replace(/Content-Length: \d+/, (m) => `Content-Length: ${Number(m.split(' ')[1]) + 'tts_cache_text: caf%C3%28\n'.length}`)),
    ).frames
    if (frame === undefined) throw new Error('no frame')
    const parsed = parseEventFrame(frame)
    if (!parsed.ok) throw new Error(parsed.reason)
    dispatcher.handle(parsed.event)
    expect(dispatcher.stats()).toMatchObject({ invalid: 1, accepted: 0 })
    expect(real.renders()).toBe(0)
  })
})
