/**
 * The tts_cache hook (EslOutboundServer) in front of the REAL application: buildApp's TtsService
 * with the real DiskStore on a temp cache dir, real espeak-ng + sox and the in-process pool
 * (test/harness/app/test-app.ts). Only FreeSWITCH is a double (test/fakes/freeswitch/call.ts, held to the
 * captures). A render can be held on the real renderer with `gate` (render-gate.ts).
 */
import { readFile, stat } from 'node:fs/promises'
import { EslOutboundServer, type EslOutboundServerOptions } from '../../../src/esl/outbound/server.js'
import type { EslCallOutcome, EslCallStatus, EslObserver, EslTtsService } from '../../../src/esl/ports.js'
import { startTestApp, type TestApp } from '../app/test-app.js'
import { runCall, startCall, type FakeCallOptions, type FakeCallResult, type FakeFreeSwitchCall } from '../../fakes/freeswitch/call.js'
import { EslRenderGate } from '../../fakes/esl/render-gate.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'

/** Records every observer hook call. */
export class RecordingObserver implements EslObserver {
  readonly opened: string[] = []
  readonly closed: string[] = []
  readonly commands: string[] = []
  readonly results: EslCallOutcome[] = []
  readonly answers: { status: EslCallStatus; seconds: number }[] = []
  readonly states: string[] = []
  readonly prewarms: string[] = []
  reconnects = 0
  protocolErrors = 0

  connectionOpened(side: string): void {
    this.opened.push(side)
  }
  connectionClosed(side: string): void {
    this.closed.push(side)
  }
  reconnect(): void {
    this.reconnects++
  }
  inboundState(state: string): void {
    this.states.push(state)
  }
  command(side: string, name: string, outcome: string): void {
    this.commands.push(`${side} ${name} ${outcome}`)
  }
  answered(status: EslCallStatus, seconds: number): void {
    this.answers.push({ status, seconds })
  }
  callResult(outcome: EslCallOutcome): void {
    this.results.push(outcome)
  }
  prewarm(outcome: string): void {
    this.prewarms.push(outcome)
  }
  protocolError(): void {
    this.protocolErrors++
  }
}

/** What changes a cache key besides the text. */
export interface PhraseExtra {
  readonly voice?: string
  readonly engine?: string
  readonly sampleRate?: number
}

/** The real app plus helpers to name its files. */
export interface RealApp {
  readonly test: TestApp
  readonly gate: EslRenderGate
  /** Engine runs so far (counted by the wrapped renderer). */
  renders(): number
  /** The key the app computes for this phrase (service.resolve). */
  expectedKey(text: string, extra?: PhraseExtra): string
  /** Where the app's DiskStore keeps that phrase's WAV (store.pathFor). */
  expectedPath(text: string, extra?: PhraseExtra): string
  /** In the store's index AND a real RIFF/WAVE file on disk at expectedPath. */
  isCached(text: string, extra?: PhraseExtra): Promise<boolean>
}

/**
 * Starts the real app (see test/harness/app/test-app.ts) with a render gate around the real renderer.
 * `env` is read like the CLI reads the environment (e.g. TTS_ENGINE=command + TTS_COMMAND).
 */
export async function startRealApp(env: Record<string, string> = {}, cleanups?: (() => Promise<void>)[]): Promise<RealApp> {
  const gate = new EslRenderGate()
  const test = await startTestApp(env, { wrapRenderer: (inner) => gate.wrap(inner) })
  cleanups?.push(async () => {
    gate.release()
    await test.close()
  })
  const expectedKey = (text: string, extra: PhraseExtra = {}): string => test.app.service.resolve({ text, ...extra }).key
  const expectedPath = (text: string, extra?: PhraseExtra): string => test.app.store.pathFor(expectedKey(text, extra))
  return {
    test,
    gate,
    renders: () => test.renders(),
    expectedKey,
    expectedPath,
    isCached: async (text, extra) => {
      const key = expectedKey(text, extra)
      if (test.app.store.lookup(key) === undefined) return false
      return isWavFile(test.app.store.pathFor(key))
    },
  }
}

/** A non-empty RIFF/WAVE file. */
export async function isWavFile(path: string): Promise<boolean> {
  try {
    if ((await stat(path)).size <= 44) return false
    const head = (await readFile(path)).subarray(0, 12).toString('latin1')
    return head.startsWith('RIFF') && head.endsWith('WAVE')
  } catch {
    // Missing or unreadable: not cached, which is what the caller asks.
    return false
  }
}

export interface Hook extends RealApp {
  readonly server: EslOutboundServer
  readonly port: number
  readonly logger: RecordingLogger
  readonly observer: RecordingObserver
  call(options?: Omit<FakeCallOptions, 'port'>): Promise<FakeCallResult>
  start(options?: Omit<FakeCallOptions, 'port'>): FakeFreeSwitchCall
}

export const FALLBACK_WAV = '/usr/share/freeswitch/sounds/tts_cache_fallback.wav'

export interface HookOptions {
  /** Environment for the real app (TTS_ENGINE, TTS_COMMAND, TTS_RENDER_CONCURRENCY…). */
  readonly env?: Record<string, string>
  /** Serve this app instead of starting a new one (a restart on the same cache dir). */
  readonly app?: RealApp
  /**
   * Put a stub in front of the hook instead of the app's TtsService. Only for behaviour the
   * real service cannot show (it never returns an unsafe path, it always honours the signal).
   */
  readonly service?: EslTtsService
}

/** An EslOutboundServer on a free port (or `server.port`) in front of the real app. */
export async function startHook(
  serverOptions: Partial<EslOutboundServerOptions> = {},
  cleanups?: (() => Promise<void>)[],
  options: HookOptions = {},
): Promise<Hook> {
  const logger = new RecordingLogger()
  const observer = new RecordingObserver()
  const real = options.app ?? (await startRealApp(options.env, cleanups))
  const server = new EslOutboundServer({
    host: '127.0.0.1',
    port: 0,
    defaultDeadlineMs: 3000,
    maxDeadlineMs: 10_000,
    service: options.service ?? real.test.app.service,
    logger,
    observer,
    ...serverOptions,
  })
  const { port } = await server.listen()
  cleanups?.push(() => server.close(0))
  const defaults = (call: Omit<FakeCallOptions, 'port'>): FakeCallOptions => ({ port, presetTtsFile: FALLBACK_WAV, ...call })
  return {
    ...real,
    server,
    port,
    logger,
    observer,
    call: (call = {}) => runCall(defaults(call)),
    start: (call = {}) => startCall(defaults(call)),
  }
}

/** The command lines the service sent (first line of each command). */
export function commandLines(result: FakeCallResult): string[] {
  return result.commands.map((c) => c.line)
}

/** Every command matches what the hook may send: nothing else ever reaches FreeSWITCH. */
export const ALLOWED_COMMAND =
  /^(connect|exit|sendmsg|getvar tts_cache_text|api uuid_getvar [0-9a-f-]{36} tts_cache_text|api uuid_setvar [0-9a-f-]{36} (tts_file \/[^\s]+|tts_cache_status (hit|rendered|coalesced|timeout|error)|tts_cache_key [0-9a-f]{64}))$/
