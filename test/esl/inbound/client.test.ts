/**
 * The inbound connection against the mod_event_socket double, in front of the real app (real
 * TtsService, DiskStore, espeak-ng/flite + sox, pool): pre-warm events end as WAVs on disk. Time
 * is a manual clock: back-off and the heartbeat watchdog are checked against their schedule,
 * never against wall time.
 */
import { createServer, Socket, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { backoffFloorMs, backoffOptions } from '../../../src/esl/inbound/backoff.js'
import { EslInboundClient, type EslInboundClientOptions } from '../../../src/esl/inbound/client.js'
import { FakeEventSocket } from '../../fakes/freeswitch/event-socket.js'
import { RecordingObserver, startRealApp } from '../../harness/esl/hook.js'
import { ManualScheduler } from '../../fakes/esl/manual-scheduler.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'
import { settle, waitFor } from '../../harness/esl/wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanups.splice(0).reverse()) await c()
})

const BACKOFF = { initialDelayMs: 500, maxDelayMs: 8000, multiplier: 2, jitterRatio: 0.5 }

async function setup(options: Partial<EslInboundClientOptions> = {}, fsPassword = 'ClueCon') {
  const fs = new FakeEventSocket({ password: fsPassword })
  const port = await fs.start()
  cleanups.push(() => fs.stop())
  const scheduler = new ManualScheduler()
  const logger = new RecordingLogger()
  const observer = new RecordingObserver()
  const real = await startRealApp({}, cleanups)
  const client = new EslInboundClient({
    host: '127.0.0.1',
    port,
    password: 'ClueCon',
    prewarm: real.test.app.prewarm,
    logger,
    observer,
    scheduler,
    random: () => 0.5,
    heartbeatTimeoutMs: 60_000,
    backoff: BACKOFF,
    ...options,
  })
  cleanups.push(() => client.stop())
  const connected = (): Promise<void> => waitFor(() => client.state().state === 'connected', 'connected')
  /** Waits until no attempt is in flight (so advancing the clock cannot fire a command timeout early). */
  const idle = async (): Promise<void> => {
    await waitFor(() => client.state().state !== 'connecting', 'the attempt to settle')
    await settle()
  }
  return { fs, port, scheduler, logger, observer, real, client, connected, idle }
}

describe('inbound connection to mod_event_socket', () => {
  it('authenticates and subscribes to HEARTBEAT and CUSTOM tts_cache::prewarm', async () => {
    const t = await setup()
    t.client.start()
    await t.connected()
    expect(t.fs.commands).toEqual(['auth ClueCon', 'event plain HEARTBEAT', 'event plain CUSTOM tts_cache::prewarm'])
    expect(t.fs.subscribers('tts_cache::prewarm')).toBe(1)
    expect(t.client.state()).toMatchObject({ state: 'connected', attempts: 1, reconnects: 0, lastError: undefined })
    expect(t.observer.states).toEqual(['connecting', 'connected'])
  })

  it('turns tts_cache::prewarm events into pre-warm renders', async () => {
    const t = await setup()
    const render = vi.spyOn(t.real.test.app.queue, 'render')
    t.client.start()
    await t.connected()
    const text = 'Grüße: 100% sicher, £42 & more'
    const extra = { voice: 'slt', engine: 'flite', sampleRate: 16000 }
    expect(t.fs.fireCustom('tts_cache::prewarm', [['tts_cache_text', text], ['tts_cache_voice', 'slt'], ['tts_cache_engine', 'flite'], ['tts_cache_rate', '16000']])).toBe(1)
    await waitFor(() => t.real.test.app.store.lookup(t.real.expectedKey(text, extra)) !== undefined, 'the render')
    expect(await t.real.isCached(text, extra)).toBe(true)
    expect(t.real.gate.started[0]?.request).toMatchObject({ text, voice: 'slt', engine: 'flite', sampleRate: 16000 })
    expect(render.mock.calls[0]?.[1]).toMatchObject({ priority: 'prewarm' })
    t.fs.fireCustom('tts_cache::prewarm', [['tts_cache_voice', 'en']])
    await waitFor(() => t.client.state().prewarm.invalid === 1, 'the invalid event')
    expect(t.client.state().prewarm).toMatchObject({ accepted: 1, invalid: 1, dropped: 0 })
    expect(t.observer.prewarms).toEqual(['accepted', 'invalid'])
  })

  it('drops pre-warm events beyond maxPrewarmInFlight', async () => {
    const t = await setup({ maxPrewarmInFlight: 1 })
    t.real.gate.hold()
    t.client.start()
    await t.connected()
    t.fs.fireCustom('tts_cache::prewarm', [['tts_cache_text', 'one']])
    t.fs.fireCustom('tts_cache::prewarm', [['tts_cache_text', 'two']])
    await waitFor(() => t.client.state().prewarm.dropped === 1, 'the drop')
    await waitFor(() => t.real.gate.heldCount === 1, 'the render')
    t.real.gate.release()
    await waitFor(() => t.client.state().prewarm.inFlight === 0, 'the render')
    expect(t.real.renders()).toBe(1)
    expect(await t.real.isCached('one')).toBe(true)
    expect(await t.real.isCached('two')).toBe(false)
  })

  it('reconnects after a FreeSWITCH restart, once per back-off step, and works again', async () => {
    const t = await setup()
    t.client.start()
    await t.connected()
    await t.fs.stop() // every connection closed; new ones refused
    await waitFor(() => t.client.state().state === 'disconnected', 'the loss')
    const delays: number[] = []
    for (let i = 0; i < 3; i++) {
      await t.idle()
      const delay = t.scheduler.nextDelay()
      if (delay === undefined) throw new Error('no retry scheduled')
      delays.push(delay)
      t.scheduler.advance(delay)
      await waitFor(() => t.client.state().attempts === i + 2, 'the attempt')
    }
    await t.idle()
    expect(t.client.state().state).toBe('disconnected')
    expect(t.client.state().lastError?.code).toBe('TTS_ERR_ESL_CLOSED')
    await t.fs.start()
    t.scheduler.advance(t.scheduler.nextDelay() ?? 0)
    await t.connected()
    // 500, 1000, 2000 with random 0.5 and jitter 0.5: each delay is 75 % of its ceiling.
    expect(delays).toEqual([375, 750, 1500])
    expect(t.client.state()).toMatchObject({ attempts: 5, reconnects: 4 })
    expect(t.observer.reconnects).toBe(4)
    t.fs.fireCustom('tts_cache::prewarm', [['tts_cache_text', 'after the restart']])
    await waitFor(() => t.real.test.app.store.lookup(t.real.expectedKey('after the restart')) !== undefined, 'the pre-warm after reconnecting')
    expect(t.real.renders()).toBe(1)
  })

  it('keeps a wrong password visible as auth-failed, retries on the back-off schedule only, and never logs it', async () => {
    const password = 'Sup3r-S3cret-Pw'
    const t = await setup({ password, random: () => 0.999_999 })
    t.client.start()
    await waitFor(() => t.client.state().state === 'auth-failed', 'auth-failed')
    expect(t.client.state().lastError?.code).toBe('TTS_ERR_ESL_AUTH')

    // Drive the clock for 60 s, always jumping to the next timer once the attempt in flight settled.
    const windowMs = 60_000
    let elapsed = 0
    for (;;) {
      await t.idle()
      const delay = t.scheduler.nextDelay()
      if (delay === undefined || elapsed + delay > windowMs) break
      expect(t.fs.open).toBeLessThanOrEqual(1) // one attempt in flight at a time
      elapsed += delay
      t.scheduler.advance(delay)
      await waitFor(() => t.fs.accepted === t.client.state().attempts, 'the attempt to reach the double')
    }
    const options = backoffOptions(BACKOFF)
    let bound = 1
    for (let sum = 0, i = 0; sum + backoffFloorMs(i, options) <= windowMs; i++) {
      sum += backoffFloorMs(i, options)
      bound++
    }
    const attempts = t.client.state().attempts
    expect(attempts).toBeGreaterThan(3)
    expect(attempts).toBeLessThanOrEqual(bound)
    expect(t.fs.accepted).toBe(attempts)
    expect(t.client.state().state).toBe('auth-failed')
    expect(t.logger.at('error').length).toBe(attempts)

    expect(t.logger.text()).not.toContain(password)
    expect(JSON.stringify(t.client.state())).not.toContain(password)
    expect(t.logger.text()).toContain('rejected the event socket password')
  })

  it('reconnects when FreeSWITCH goes silent (heartbeat watchdog), and HEARTBEAT keeps it fed', async () => {
    const t = await setup({ heartbeatTimeoutMs: 60_000 })
    t.client.start()
    await t.connected()
    t.scheduler.advance(59_000)
    expect(t.fs.sendHeartbeat()).toBe(1)
    await waitFor(() => t.client.state().lastHeartbeatAtMs === t.scheduler.now(), 'the heartbeat')
    t.scheduler.advance(59_999)
    await settle()
    expect(t.client.state().state).toBe('connected')
    expect(t.fs.accepted).toBe(1)
    t.scheduler.advance(1)
    await waitFor(() => t.client.state().state === 'disconnected', 'the watchdog')
    expect(t.client.state().lastError?.code).toBe('TTS_ERR_ESL_TIMEOUT')
    t.scheduler.advance(t.scheduler.nextDelay() ?? 0)
    await t.connected()
    expect(t.fs.accepted).toBe(2)
  })

  it('gives every command a timeout: a FreeSWITCH that stops answering costs one attempt, then back-off', async () => {
    const t = await setup({ commandTimeoutMs: 2000 })
    t.fs.answering = false
    t.client.start()
    await waitFor(() => t.fs.commands.length === 1, 'auth to be sent')
    t.scheduler.advance(2000)
    await t.idle()
    expect(t.client.state()).toMatchObject({ state: 'disconnected', lastError: { code: 'TTS_ERR_ESL_TIMEOUT' } })
    t.fs.answering = true
    t.scheduler.advance(t.scheduler.nextDelay() ?? 0)
    await t.connected()
  })

  it('times out a peer that accepts TCP but never sends the banner', async () => {
    let accepted = 0
    const mute = createServer((socket) => {
      accepted++
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => mute.close(() => resolve())))
    const t = await setup({ port: (mute.address() as AddressInfo).port, connectTimeoutMs: 3000 })
    t.client.start()
    await waitFor(() => accepted === 1, 'the TCP connection')
    t.scheduler.advance(2999)
    await settle()
    expect(t.client.state().state).toBe('connecting')
    t.scheduler.advance(1)
    await t.idle()
    expect(t.client.state()).toMatchObject({ state: 'disconnected', lastError: { code: 'TTS_ERR_ESL_TIMEOUT' } })
  })

  it('turns on TCP keepalive', async () => {
    const spy = vi.spyOn(Socket.prototype, 'setKeepAlive')
    const t = await setup({ keepAliveInitialDelayMs: 15_000 })
    t.client.start()
    await t.connected()
    expect(spy).toHaveBeenCalledWith(true, 15_000)
  })

  it('stop() says exit, closes, and schedules nothing more', async () => {
    const t = await setup()
    t.client.start()
    await t.connected()
    await t.client.stop()
    expect(t.fs.commands.at(-1)).toBe('exit')
    expect(t.client.state().state).toBe('disconnected')
    expect(t.scheduler.pending).toBe(0)
    t.scheduler.advance(600_000)
    await settle()
    expect(t.fs.accepted).toBe(1)
  })
})
