/**
 * Deadlines, hangups, slow/silent/half-closed peers and malformed data, on the real app (real
 * TtsService, DiskStore, espeak-ng + sox, pool). The hook's timers run on a manual clock and
 * renders are held on the real renderer (test/fakes/esl/render-gate.ts): no test waits for or measures
 * wall time.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ALLOWED_COMMAND, commandLines, FALLBACK_WAV, startHook } from '../../harness/esl/hook.js'
import { ManualScheduler } from '../../fakes/esl/manual-scheduler.js'
import { settle, waitFor } from '../../harness/esl/wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const TEXT = 'Your balance is forty two pounds'

async function hookWithClock(options: Parameters<typeof startHook>[0] = {}, hookOptions: Parameters<typeof startHook>[2] = {}) {
  const scheduler = new ManualScheduler()
  const hook = await startHook({ scheduler, ...options }, cleanups, hookOptions)
  return { ...hook, scheduler }
}

describe('deadline', () => {
  it('gives the fallback with status timeout at the deadline, and caches the render for the next caller', async () => {
    const hook = await hookWithClock({ defaultDeadlineMs: 3000 })
    hook.gate.hold()
    const call = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.gate.heldCount === 1 && hook.server.stats().waiting === 1, 'the render')
    hook.scheduler.advance(2999)
    await settle()
    expect(call.commandsSoFar.map((c) => c.line)).toEqual(['connect'])
    hook.scheduler.advance(1)
    const result = await call.result
    expect(result.variables.get('tts_cache_status')).toBe('timeout')
    expect(result.variables.get('tts_file')).toBe(FALLBACK_WAV)
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(TEXT))
    expect(result.played).toBe(FALLBACK_WAV)
    expect(commandLines(result).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['connect', 'api uuid_setvar', 'api uuid_setvar', 'exit'])

    // The render was kept alive: the real engine finishes after the call left, the WAV lands in
    // the cache dir, and the next caller hits.
    expect(hook.gate.heldCount).toBe(1)
    expect(await hook.isCached(TEXT)).toBe(false)
    hook.gate.release()
    await waitFor(() => hook.test.app.store.lookup(hook.expectedKey(TEXT)) !== undefined, 'the cached file')
    expect(await hook.isCached(TEXT)).toBe(true)
    const next = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(next.variables.get('tts_cache_status')).toBe('hit')
    expect(next.played).toBe(hook.expectedPath(TEXT))
    expect(hook.renders()).toBe(1)
    expect(hook.server.stats().byStatus).toMatchObject({ timeout: 1, hit: 1 })
    expect(hook.scheduler.pending).toBe(0)
    // Service-side time on the manual clock: CHANNEL_DATA at 0, the variables written at the
    // deadline; the hit is written without the clock moving.
    expect(hook.observer.answers).toEqual([
      { status: 'timeout', seconds: 3 },
      { status: 'hit', seconds: 0 },
    ])
  })

  it.each([
    ['tts_cache_deadline_ms overrides the default', '100', 100],
    ['it is clamped to maxDeadlineMs', '999999', 5000],
    ['an invalid value falls back to the default', 'soon', 3000],
    ['a negative value falls back to the default', '-5', 3000],
  ])('%s', async (_what, value, effectiveMs) => {
    const hook = await hookWithClock({ defaultDeadlineMs: 3000, maxDeadlineMs: 5000 })
    hook.gate.hold()
    const call = hook.start({ variables: [['tts_cache_text', TEXT], ['tts_cache_deadline_ms', value]] })
    await waitFor(() => hook.server.stats().waiting === 1, 'the render')
    hook.scheduler.advance(effectiveMs - 1)
    await settle()
    expect(hook.server.stats().waiting).toBe(1)
    hook.scheduler.advance(1)
    expect((await call.result).variables.get('tts_cache_status')).toBe('timeout')
    hook.gate.release()
  })

  it('with tts_cache_deadline_ms=0 plays only what is cached and warms the rest', async () => {
    const hook = await hookWithClock()
    hook.gate.hold()
    const cold = hook.start({ variables: [['tts_cache_text', TEXT], ['tts_cache_deadline_ms', '0']] })
    await waitFor(() => hook.server.stats().waiting === 1, 'the render')
    hook.scheduler.advance(0)
    const coldResult = await cold.result
    expect(coldResult.variables.get('tts_cache_status')).toBe('timeout')
    expect(coldResult.played).toBe(FALLBACK_WAV)
    hook.gate.release()
    await waitFor(() => hook.test.app.store.lookup(hook.expectedKey(TEXT)) !== undefined, 'the cached file')
    const warm = await hook.call({ variables: [['tts_cache_text', TEXT], ['tts_cache_deadline_ms', '0']] })
    expect(warm.variables.get('tts_cache_status')).toBe('hit')
    expect(warm.played).toBe(hook.expectedPath(TEXT))
    expect(await hook.isCached(TEXT)).toBe(true)
    expect(hook.renders()).toBe(1)
  })

  it('holds the deadline even when the service ignores the abort signal', async () => {
    // A stub service: the real one honours the signal, so only a stub can show the hook does not rely on it.
    const hook = await hookWithClock(
      {},
      {
        service: {
          resolve: () => ({ key: 'b'.repeat(64), request: {} as never, engineVersion: '1' }),
          hit: () => undefined,
          get: () => new Promise(() => undefined),
          getAfterMiss: () => new Promise(() => undefined),
        },
      },
    )
    const call = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.server.stats().waiting === 1, 'the call')
    hook.scheduler.advance(3000)
    const result = await call.result
    expect(result.variables.get('tts_cache_status')).toBe('timeout')
    expect(result.played).toBe(FALLBACK_WAV)
  })
})

describe('caller hangs up mid-render', () => {
  it('writes nothing to the dead socket, does not crash, and still caches the render', async () => {
    const hook = await startHook({}, cleanups)
    hook.gate.hold()
    const call = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.gate.heldCount === 1, 'the render')
    call.hangup()
    const result = await call.result
    expect(result.outcome).toBe('hung-up')
    expect(result.played).toBeUndefined()
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    expect(result.received.toString()).toBe('connect\n\n')
    expect(hook.server.stats()).toMatchObject({ hangups: 1, active: 0 })
    expect(hook.observer.results[0]).toMatchObject({ hungUp: true, delivered: false })
    expect(hook.observer.answers).toEqual([])

    // The real render goes on without anyone waiting, and its WAV is committed to the cache dir.
    expect(await hook.isCached(TEXT)).toBe(false)
    hook.gate.release()
    await waitFor(() => hook.test.app.store.lookup(hook.expectedKey(TEXT)) !== undefined, 'the cached file')
    expect(await hook.isCached(TEXT)).toBe(true)
    const next = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(next.variables.get('tts_cache_status')).toBe('hit')
    expect(next.played).toBe(hook.expectedPath(TEXT))
    expect(hook.renders()).toBe(1)
    expect(hook.logger.at('error')).toEqual([])
  })

  it('treats a half-close right after CHANNEL_DATA as a hangup', async () => {
    const hook = await startHook({}, cleanups)
    hook.gate.hold()
    const result = await hook.call({ halfCloseAfterConnect: true, variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    expect(commandLines(result)).toEqual(['connect'])
    expect(hook.server.stats().hangups).toBe(1)
    hook.gate.release()
    await waitFor(() => hook.test.app.store.lookup(hook.expectedKey(TEXT)) !== undefined, 'the cached file')
  })
})

describe('slow, silent and broken peers', () => {
  it('closes a peer that never answers connect (connect-phase timeout)', async () => {
    const hook = await hookWithClock({ connectTimeoutMs: 2000 })
    const call = hook.start({ silentOnConnect: true, variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => call.commandsSoFar.length === 1, 'connect')
    hook.scheduler.advance(1999)
    await settle()
    expect(hook.server.stats().active).toBe(1)
    hook.scheduler.advance(1)
    const result = await call.result
    expect(result.played).toBe(FALLBACK_WAV)
    expect(commandLines(result)).toEqual(['connect'])
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    expect(hook.observer.results[0]).toMatchObject({ hungUp: false, errorCode: 'TTS_ERR_ESL_TIMEOUT' })
  })

  it('closes a peer that stops answering commands (per-reply timeout)', async () => {
    const hook = await hookWithClock({ commandTimeoutMs: 1500 })
    const call = hook.start({ silentAfterConnect: true, variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => call.commandsSoFar.some((c) => c.line === 'exit'), 'the pipelined commands')
    hook.scheduler.advance(1500)
    const result = await call.result
    expect(result.played).toBe(FALLBACK_WAV)
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    expect(hook.server.stats().undelivered).toBe(1)
    expect(hook.observer.commands).toContain('outbound api uuid_setvar timeout')
  })

  it.each([
    ['a header line without a colon', Buffer.from('Event-Name: CHANNEL_DATA\nthis is not a header\n\n')],
    ['a refused connect', Buffer.from('Content-Type: command/reply\nReply-Text: -ERR command not found\n\n')],
    ['a bad Content-Length', Buffer.from('Content-Type: command/reply\nContent-Length: lots\n\n')],
  ])('closes the call on malformed channel data: %s', async (_what, bytes) => {
    const hook = await startHook({}, cleanups)
    const result = await hook.call({ channelDataOverride: bytes, variables: [['tts_cache_text', TEXT]] })
    expect(commandLines(result)).toEqual(['connect'])
    expect(result.played).toBe(FALLBACK_WAV)
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    // Our own close is not counted as a caller hanging up.
    expect(hook.server.stats()).toMatchObject({ hangups: 0, undelivered: 1 })
  })

  it('closes the call when CHANNEL_DATA is larger than maxHeaderBytes', async () => {
    const hook = await startHook({ maxHeaderBytes: 1024 }, cleanups)
    const result = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(commandLines(result)).toEqual(['connect'])
    await waitFor(() => hook.observer.protocolErrors === 1, 'the protocol error')
  })

  it('closes calls beyond maxConnections at once, so FreeSWITCH plays the fallback', async () => {
    const hook = await startHook({ maxConnections: 1 }, cleanups)
    hook.gate.hold()
    const first = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.server.stats().waiting === 1, 'the first call')
    const second = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(second.commands).toEqual([])
    expect(second.played).toBe(FALLBACK_WAV)
    expect(hook.server.stats().rejected).toBe(1)
    hook.gate.release()
    expect((await first.result).variables.get('tts_cache_status')).toBe('rendered')
  })
})

describe('closing the server', () => {
  it('answers calls still waiting with status error and exit, then closes', async () => {
    const hook = await startHook({}, cleanups)
    hook.gate.hold()
    const call = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.server.stats().waiting === 1, 'the call')
    await hook.server.close(0)
    const result = await call.result
    expect(result.variables.get('tts_cache_status')).toBe('error')
    expect(result.played).toBe(FALLBACK_WAV)
    expect(result.exitReceived).toBe(true)
    for (const command of result.commands) expect(command.line).toMatch(ALLOWED_COMMAND)
    expect(hook.server.stats()).toMatchObject({ listening: false, active: 0 })
    hook.gate.release()
  })
})
