import { EslOutboundServer, type EslOutboundServerOptions } from '../../src/esl/outbound-server.js'
import type { EslCallOutcome, EslObserver, EslTtsService } from '../../src/esl/ports.js'
import { createTestService, type TestService } from './esl-fake-service.js'
import { runCall, startCall, type FakeCallOptions, type FakeCallResult, type FakeFreeSwitchCall } from './esl-fake-freeswitch-call.js'
import { RecordingLogger } from './esl-test-logger.js'

/** Records every observer hook call. */
export class RecordingObserver implements EslObserver {
  readonly opened: string[] = []
  readonly closed: string[] = []
  readonly commands: string[] = []
  readonly results: EslCallOutcome[] = []
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

export interface Hook {
  readonly server: EslOutboundServer
  readonly port: number
  readonly test: TestService
  readonly logger: RecordingLogger
  readonly observer: RecordingObserver
  call(options?: Omit<FakeCallOptions, 'port'>): Promise<FakeCallResult>
  start(options?: Omit<FakeCallOptions, 'port'>): FakeFreeSwitchCall
}

export const FALLBACK_WAV = '/usr/share/freeswitch/sounds/tts_cache_fallback.wav'

/** An EslOutboundServer on a free port in front of the real TtsService (in-memory store). */
export async function startHook(
  overrides: Partial<EslOutboundServerOptions> & { service?: EslTtsService } = {},
  cleanups?: (() => Promise<void>)[],
): Promise<Hook> {
  const logger = new RecordingLogger()
  const observer = new RecordingObserver()
  const test = createTestService(logger)
  const server = new EslOutboundServer({
    host: '127.0.0.1',
    port: 0,
    defaultDeadlineMs: 3000,
    maxDeadlineMs: 10_000,
    service: test.service,
    logger,
    observer,
    ...overrides,
  })
  const { port } = await server.listen()
  cleanups?.push(() => server.close(0))
  const defaults = (options: Omit<FakeCallOptions, 'port'>): FakeCallOptions => ({ port, presetTtsFile: FALLBACK_WAV, ...options })
  return {
    server,
    port,
    test,
    logger,
    observer,
    call: (options = {}) => runCall(defaults(options)),
    start: (options = {}) => startCall(defaults(options)),
  }
}

/** The command lines the service sent (first line of each command). */
export function commandLines(result: FakeCallResult): string[] {
  return result.commands.map((c) => c.line)
}

/** Every command matches what the hook may send: nothing else ever reaches FreeSWITCH. */
export const ALLOWED_COMMAND =
  /^(connect|exit|sendmsg|api uuid_setvar [0-9a-f-]{36} (tts_file \/[^\s]+|tts_cache_status (hit|rendered|coalesced|timeout|error)|tts_cache_key [0-9a-f]{64}))$/
