/**
 * The hook's contract on the real app: real TtsService, real DiskStore on a temp dir, real
 * espeak-ng/flite + sox, real pool, real sockets. FreeSWITCH is the capture-checked double.
 */
import { rm } from 'node:fs/promises'
import { Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { EslTtsService } from '../../../src/esl/ports.js'
import { EslOutboundServer } from '../../../src/esl/outbound/server.js'
import { FIXTURES } from '../../harness/app/test-app.js'
import { channelDataFrame } from '../../fakes/freeswitch/frames.js'
import { ALLOWED_COMMAND, commandLines, FALLBACK_WAV, isWavFile, startHook } from '../../harness/esl/hook.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'
import { waitFor } from '../../harness/esl/wait.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanups.splice(0).reverse()) await c()
})

const TEXT = 'Your balance is forty two pounds'

describe('tts_cache hook: the contract', () => {
  it('answers a full-mode call with tts_file, tts_cache_status and tts_cache_key, then exit', async () => {
    const hook = await startHook({}, cleanups)
    const result = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(result.outcome).toBe('completed')
    expect(result.variables.get('tts_file')).toBe(hook.expectedPath(TEXT))
    expect(result.variables.get('tts_cache_status')).toBe('rendered')
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(TEXT))
    expect(result.played).toBe(hook.expectedPath(TEXT))
    expect(result.exitReceived).toBe(true)
    expect(commandLines(result).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'connect',
      'api uuid_setvar',
      'api uuid_setvar',
      'api uuid_setvar',
      'exit',
    ])
    expect(result.unsupported).toEqual([])
    expect(hook.renders()).toBe(1)
    // tts_file names a real WAV that the engine wrote into the cache dir.
    expect(await isWavFile(result.played ?? '')).toBe(true)
    expect(result.played?.startsWith(`${hook.test.cacheDir}/`)).toBe(true)
    await waitFor(() => hook.server.stats().completed === 1, 'the session to end')
    expect(hook.server.stats()).toMatchObject({ completed: 1, byStatus: { rendered: 1 }, hangups: 0, undelivered: 0 })
  })

  it.each([
    ['full', {}, {}, ['connect\n\n', 'api uuid_setvar|api uuid_setvar|api uuid_setvar|exit']],
    ['no full', { full: false }, {}, ['connect\n\n', 'sendmsg|sendmsg|sendmsg|exit']],
    ['pipeline off', {}, { pipeline: false }, ['connect\n\n', 'api uuid_setvar', 'api uuid_setvar', 'api uuid_setvar', 'exit']],
  ])('writes the variables and exit in one TCP write after CHANNEL_DATA (%s)', async (_what, callOptions, serverOptions, expected) => {
    const hook = await startHook(serverOptions, cleanups)
    const writes: string[] = []
    const original = Socket.prototype.write
    vi.spyOn(Socket.prototype, 'write').mockImplementation(function (this: Socket, ...args: Parameters<Socket['write']>) {
      if (this.localPort === hook.port) {
        const text = Buffer.from(args[0] as Buffer).toString()
        writes.push(text === 'connect\n\n' ? text : text.split('\n\n').filter((c) => c !== '').map((c) => (c.split('\n')[0] ?? '').split(' ').slice(0, 2).join(' ').replace(/^(exit|sendmsg).*/, '$1')).join('|'))
      }
      return original.apply(this, args)
    })
    const result = await hook.call({ ...callOptions, variables: [['tts_cache_text', TEXT]] })
    expect(result.played).toBe(hook.expectedPath(TEXT))
    expect(writes).toEqual(expected)
  })

  it('serves the second identical call from cache without rendering (status hit)', async () => {
    const hook = await startHook({}, cleanups)
    await hook.call({ variables: [['tts_cache_text', TEXT]] })
    const second = await hook.call({ variables: [['tts_cache_text', `  ${TEXT.replace(/ /g, '   ')} `]] })
    expect(second.variables.get('tts_cache_status')).toBe('hit')
    expect(second.played).toBe(hook.expectedPath(TEXT))
    expect(hook.renders()).toBe(1)
  })

  it('renders again when a cached file was deleted by someone else (a hit is a file that exists now)', async () => {
    const hook = await startHook({}, cleanups)
    await hook.call({ variables: [['tts_cache_text', TEXT]] })
    await rm(hook.expectedPath(TEXT))
    const again = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(again.variables.get('tts_cache_status')).toBe('rendered')
    expect(again.played).toBe(hook.expectedPath(TEXT))
    expect(await isWavFile(hook.expectedPath(TEXT))).toBe(true)
    expect(hook.renders()).toBe(2)
  })

  it('counts each call once in the service metrics: a render, a hit, an invalid request', async () => {
    const hook = await startHook({}, cleanups)
    await hook.call({ variables: [['tts_cache_text', TEXT]] })
    await hook.call({ variables: [['tts_cache_text', TEXT]] })
    await hook.call({ variables: [['tts_cache_text', TEXT]] })
    await hook.call({ variables: [['tts_cache_text', TEXT], ['tts_cache_engine', 'nosuchengine']] })
    const text = await hook.test.app.metrics.text()
    const sample = (series: string): number | undefined => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `))
      return line === undefined ? undefined : Number(line.slice(series.length + 1))
    }
    expect(sample('tts_requests_total{source="esl",result="rendered"}')).toBe(1)
    expect(sample('tts_requests_total{source="esl",result="hit"}')).toBe(2)
    expect(sample('tts_errors_total{source="esl",code="TTS_ERR_UNKNOWN_ENGINE"}')).toBe(1)
  })

  it('reports coalesced for a call that joined a render in progress', async () => {
    const hook = await startHook({}, cleanups)
    hook.gate.hold()
    const first = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.gate.heldCount === 1, 'the render')
    const second = hook.start({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.server.stats().waiting === 2, 'both calls waiting')
    hook.gate.release()
    const results = [await first.result, await second.result]
    expect(results.map((r) => r.variables.get('tts_cache_status'))).toEqual(['rendered', 'coalesced'])
    expect(results.map((r) => r.played)).toEqual([hook.expectedPath(TEXT), hook.expectedPath(TEXT)])
    expect(hook.renders()).toBe(1)
  })

  it('passes tts_cache_voice, tts_cache_engine and tts_cache_rate through to the key and the engine', async () => {
    const hook = await startHook({}, cleanups)
    const render = vi.spyOn(hook.test.app.queue, 'render')
    const result = await hook.call({
      variables: [
        ['tts_cache_text', TEXT],
        ['tts_cache_voice', 'slt'],
        ['tts_cache_engine', 'flite'],
        ['tts_cache_rate', '16000'],
      ],
    })
    const extra = { voice: 'slt', engine: 'flite', sampleRate: 16000 }
    expect(result.variables.get('tts_cache_status')).toBe('rendered')
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(TEXT, extra))
    expect(result.variables.get('tts_cache_key')).not.toBe(hook.expectedKey(TEXT))
    expect(result.played).toBe(hook.expectedPath(TEXT, extra))
    expect(await hook.isCached(TEXT, extra)).toBe(true)
    expect(hook.gate.started[0]?.request).toMatchObject({ voice: 'slt', engine: 'flite', sampleRate: 16000, text: TEXT })
    expect(render.mock.calls[0]?.[1]).toMatchObject({ priority: 'live' })
  })

  it('decodes UTF-8 and URL-encoded text exactly as FreeSWITCH sent it', async () => {
    const hook = await startHook({}, cleanups)
    const text = 'Grüße: 100% = £42; ok? #1 & "quoted" 你好'
    const result = await hook.call({ variables: [['tts_cache_text', text]] })
    expect(result.variables.get('tts_cache_status')).toBe('rendered')
    expect(hook.gate.started[0]?.request.text).toBe(text)
    expect(result.played).toBe(hook.expectedPath(text))
    expect(await hook.isCached(text)).toBe(true)
  })

  it('works without full: sendmsg execute set, no api', async () => {
    const hook = await startHook({}, cleanups)
    const result = await hook.call({ full: false, variables: [['tts_cache_text', TEXT]] })
    expect(result.played).toBe(hook.expectedPath(TEXT))
    expect(result.variables.get('tts_cache_status')).toBe('rendered')
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(TEXT))
    expect(commandLines(result)).toEqual(['connect', 'sendmsg', 'sendmsg', 'sendmsg', 'exit'])
    expect(result.commands[1]?.headers).toEqual([
      ['call-command', 'execute'],
      ['execute-app-name', 'set'],
      ['execute-app-arg', `tts_file=${hook.expectedPath(TEXT)}`],
    ])
  })

  it('falls back to sendmsg when api is refused with -ERR command not found (Control header absent)', async () => {
    const hook = await startHook({}, cleanups)
    const result = await hook.call({ full: false, omitControl: true, variables: [['tts_cache_text', TEXT]] })
    expect(result.played).toBe(hook.expectedPath(TEXT))
    expect(result.variables.get('tts_cache_status')).toBe('rendered')
    expect(commandLines(result).map((l) => l.split(' ')[0])).toEqual(['connect', 'api', 'api', 'api', 'sendmsg', 'sendmsg', 'sendmsg', 'exit'])
    expect(hook.server.stats().undelivered).toBe(0)
  })

  it('probes with api and keeps it when the Control header is absent but api works', async () => {
    const hook = await startHook({}, cleanups)
    const result = await hook.call({ omitControl: true, variables: [['tts_cache_text', TEXT]] })
    expect(result.played).toBe(hook.expectedPath(TEXT))
    expect(commandLines(result).map((l) => l.split(' ')[0])).toEqual(['connect', 'api', 'api', 'api', 'exit'])
  })

  it.each<[string, { async?: boolean; full?: boolean; writeChunkBytes?: number }, { pipeline?: boolean }]>([
    ['async full', { async: true }, {}],
    ['async without full', { async: true, full: false }, {}],
    ['one command per round trip (pipeline off)', {}, { pipeline: false }],
    ['replies written one byte at a time', { writeChunkBytes: 1 }, {}],
  ])('works in %s', async (_what, callOptions, serverOptions) => {
    const hook = await startHook(serverOptions, cleanups)
    const result = await hook.call({ ...callOptions, variables: [['tts_cache_text', TEXT]] })
    expect(result.played).toBe(hook.expectedPath(TEXT))
    expect(result.variables.get('tts_cache_status')).toBe('rendered')
    expect(result.exitReceived).toBe(true)
  })

  it('answers an invalid request with status error and leaves the preset tts_file alone', async () => {
    const hook = await startHook({}, cleanups)
    const unknownEngine = await hook.call({ variables: [['tts_cache_text', TEXT], ['tts_cache_engine', 'nosuchengine']] })
    expect(unknownEngine.variables.get('tts_cache_status')).toBe('error')
    expect(unknownEngine.variables.get('tts_file')).toBe(FALLBACK_WAV)
    expect(unknownEngine.variables.has('tts_cache_key')).toBe(false)
    expect(unknownEngine.played).toBe(FALLBACK_WAV)
    expect(commandLines(unknownEngine)).toEqual(['connect', expect.stringMatching(/tts_cache_status error$/), 'exit'])

    const missingText = await hook.call({ variables: [] })
    expect(missingText.variables.get('tts_cache_status')).toBe('error')
    expect(missingText.played).toBe(FALLBACK_WAV)
    const badRate = await hook.call({ variables: [['tts_cache_text', TEXT], ['tts_cache_rate', '12345']] })
    expect(badRate.variables.get('tts_cache_status')).toBe('error')
    expect(hook.renders()).toBe(0)
    expect(hook.server.stats().byStatus.error).toBe(3)
  })

  it('answers a failed render with status error and the key (the next caller may retry it)', async () => {
    // A real engine process that writes to stderr and exits 1 (test/fixtures/engines).
    const env = { TTS_ENGINE: 'command', TTS_COMMAND: JSON.stringify([`${FIXTURES}/fail-with-stderr`, '{out}']) }
    const hook = await startHook({}, cleanups, { env })
    const result = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(result.variables.get('tts_cache_status')).toBe('error')
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(TEXT))
    expect(result.played).toBe(FALLBACK_WAV)
    await waitFor(() => hook.observer.results.length === 1, 'the call result')
    expect(hook.observer.results[0]).toMatchObject({ status: 'error', errorCode: 'TTS_ERR_RENDER_FAILED', delivered: true })
    expect(await hook.isCached(TEXT)).toBe(false)
    const retry = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(retry.variables.get('tts_cache_status')).toBe('error')
    expect(hook.renders()).toBe(2)
  })

  it('reports connections, commands and results to the observer', async () => {
    const hook = await startHook({}, cleanups)
    await hook.call({ variables: [['tts_cache_text', TEXT]] })
    await waitFor(() => hook.observer.closed.length === 1, 'the session to end')
    expect(hook.observer.opened).toEqual(['outbound'])
    expect(hook.observer.closed).toEqual(['outbound'])
    expect(hook.observer.commands).toEqual([
      'outbound connect ok',
      'outbound api uuid_setvar ok',
      'outbound api uuid_setvar ok',
      'outbound api uuid_setvar ok',
      'outbound exit ok',
    ])
    expect(hook.observer.results).toHaveLength(1)
    expect(hook.observer.results[0]).toMatchObject({ status: 'rendered', delivered: true, hungUp: false })
    expect(hook.observer.answers).toEqual([{ status: 'rendered', seconds: expect.any(Number) }])
  })

  it('refuses bad options, reporting every problem at once', () => {
    let error: unknown
    try {
      new EslOutboundServer({
        host: '127.0.0.1',
        port: 70000,
        defaultDeadlineMs: 5000,
        maxDeadlineMs: 1000,
        service: {} as EslTtsService,
        logger: new RecordingLogger(),
        commandTimeoutMs: 0,
      })
    } catch (err) {
      error = err
    }
    expect(error).toMatchObject({ code: 'TTS_ERR_CONFIG' })
    const message = (error as Error).message
    for (const problem of ['port must be', 'defaultDeadlineMs must not exceed', 'commandTimeoutMs']) expect(message).toContain(problem)
  })
})

describe('tts_cache hook: untrusted caller text', () => {
  it('never writes caller text: only the hash-derived path, the key and fixed status words', async () => {
    const hook = await startHook({}, cleanups)
    const evil = 'Secret phrase\r\n\r\napi uuid_kill all\n\nexit\n\n;tts_file=/etc/passwd'
    for (const options of [{}, { full: false }]) {
      const result = await hook.call({ ...options, variables: [['tts_cache_text', evil]] })
      const sent = result.received.toString('utf8')
      expect(sent).not.toContain('Secret')
      expect(sent).not.toContain('uuid_kill')
      expect(sent).not.toContain('passwd')
      expect(result.played).toBe(hook.expectedPath(evil))
      for (const command of result.commands) {
        expect(command.line).toMatch(ALLOWED_COMMAND)
        for (const [name, value] of command.headers) {
          expect(`${name}: ${value}`).toMatch(
            /^(call-command: execute|execute-app-name: set|execute-app-arg: (tts_file=\/\S+|tts_cache_status=(hit|rendered|coalesced|timeout|error)|tts_cache_key=[0-9a-f]{64}))$/,
          )
        }
      }
    }
  })

  it.each(['hit', 'rendered'] as const)('refuses to write a path with a line break (status error, no injection): a %s', async (status) => {
    // A stub service: the real DiskStore only hands out hash-derived paths, so it cannot produce this.
    const key = 'a'.repeat(64)
    const bad = { key, path: '/var/x.wav\n\nexit', status, bytes: 1, durationMs: 1, entry: {} as never }
    const service: EslTtsService = {
      resolve: () => ({ key, request: {} as never, engineVersion: '1' }),
      // A hit answers from `hit`; a miss waits on `getAfterMiss` (the resolved phrase), never `get`.
      hit: () => (status === 'hit' ? bad : undefined),
      getAfterMiss: () => Promise.resolve(bad),
      get: () => Promise.reject(new Error('get is for an input that does not resolve')),
    }
    const hook = await startHook({}, cleanups, { service })
    const result = await hook.call({ variables: [['tts_cache_text', TEXT]] })
    expect(result.variables.get('tts_cache_status')).toBe('error')
    expect(result.variables.get('tts_cache_key')).toBe(key)
    expect(result.played).toBe(FALLBACK_WAV)
    for (const command of result.commands) expect(command.line).toMatch(ALLOWED_COMMAND)
  })

  it.each([
    ['a percent before two hex digits (FreeSWITCH leaves %41 unencoded)', '50% or %41', true],
    ['an encoded-looking space', 'Press %20 to continue', true],
    ['unbalanced parentheses', 'Hello (world', false],
    ['a closing parenthesis first', 'Press 1) for sales, 2) for support', false],
    ['quotes, commas and non-ASCII', `"Quoted", 'single', Grüße, 你好`, false],
  ])('keys the phrase macro text with %s exactly as HTTP would (%s)', async (_what, text, verbatim) => {
    const hook = await startHook({}, cleanups)
    const result = await hook.call({ variables: [['tts_cache_text', text]] })
    expect(result.variables.get('tts_cache_status')).toBe('rendered')
    expect(result.variables.get('tts_cache_key')).toBe(hook.expectedKey(text))
    expect(hook.gate.started[0]?.request.text).toBe(text)
    // Only a text with a % costs the extra round trip that reads it back verbatim.
    expect(result.commands.some((c) => c.line.startsWith('api uuid_getvar'))).toBe(verbatim)
  })

  it('reads a directly set tts_cache_text with getvar when a % makes its encoding ambiguous (no full: plain getvar)', async () => {
    const hook = await startHook({}, cleanups)
    const text = 'Dial %41 now'
    const full = await hook.call({ directText: true, variables: [['tts_cache_text', text]] })
    expect(full.variables.get('tts_cache_key')).toBe(hook.expectedKey(text))
    expect(full.commands.map((c) => c.line)).toContain(`api uuid_getvar ${full.uuid} tts_cache_text`)
    const single = await hook.call({ full: false, directText: true, variables: [['tts_cache_text', text]] })
    expect(single.variables.get('tts_cache_key')).toBe(hook.expectedKey(text))
    expect(single.commands.map((c) => c.line)).toContain('getvar tts_cache_text')
    const plain = await hook.call({ directText: true, variables: [['tts_cache_text', 'NoSpacesHere']] })
    expect(plain.commands.map((c) => c.line)).not.toContain(`api uuid_getvar ${plain.uuid} tts_cache_text`)
  })

  it('refuses macro text that FreeSWITCH cut short (guard without end marker) with status error', async () => {
    const hook = await startHook({}, cleanups)
    const result = await hook.call({ directText: true, variables: [['tts_cache_text', `${'('.repeat(16)}Press 1`]] })
    expect(result.variables.get('tts_cache_status')).toBe('error')
    expect(result.played).toBe(FALLBACK_WAV)
    expect(hook.renders()).toBe(0)
  })

  it('handles a bare % in a channel header and malformed UTF-8 in tts_cache_text', async () => {
    const hook = await startHook({}, cleanups)
    const uuid = '6a1d8a55-6a0e-4d4b-9d34-0f0d8a3a0c11'
    const withPercent = Buffer.from(
      channelDataFrame({ uuid, variables: [['tts_cache_text', TEXT]], control: 'full', socketMode: 'static' })
        .toString()
        .replace('variable_tts_cache_text:', 'variable_discount: 50%\nvariable_tts_cache_text:'),
    )
    const ok = await hook.call({ uuid, channelDataOverride: withPercent, variables: [['tts_cache_text', TEXT]] })
    expect(ok.variables.get('tts_cache_status')).toBe('rendered')

    // The channel holds bytes that are not UTF-8: CHANNEL_DATA shows them URL-encoded, the
    // verbatim read returns them as they are, and the call is refused with the fallback.
    const refused = await hook.call({
      uuid,
      directText: true,
      variables: [['tts_cache_text', 'caf\u00c3(']],
      getvarBytes: new Map([['tts_cache_text', Buffer.from([0x63, 0x61, 0x66, 0xc3, 0x28])]]),
    })
    expect(refused.commands.map((c) => c.line)).toContain(`api uuid_getvar ${uuid} tts_cache_text`)
    expect(refused.variables.get('tts_cache_status')).toBe('error')
    expect(refused.played).toBe(FALLBACK_WAV)
  })
})
