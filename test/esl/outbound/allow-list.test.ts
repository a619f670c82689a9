/**
 * TTS_ESL_ALLOW on real sockets: a peer outside the list (here 127.0.0.1 itself, with a list
 * that excludes it) is closed before the hook writes a byte, logged once with the setting to
 * change, and counted in tts_esl_denied_connections_total; inside the list the call starts as
 * usual (the hook's `connect`). Plus the parser: CIDRs, single addresses, IPv6, IPv4-mapped IPv6
 * peers, and the errors config reports.
 */
import { connect, type Socket } from 'node:net'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../../src/config/load-config.js'
import { isTtsError } from '../../../src/core/errors.js'
import { DENIED_LOG_DEFAULTS, DeniedPeerLog, eslAllowListProblem, parseEslAllowList } from '../../../src/esl/allow-list.js'
import { EslOutboundServer } from '../../../src/esl/outbound/server.js'
import type { EslTtsService } from '../../../src/esl/ports.js'
import { createEslMetrics } from '../../../src/observability/esl-metrics.js'
import { RecordingLogger } from '../../fakes/esl/recording-logger.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** The hook must not reach the service for a denied peer; an allowed one never sends CHANNEL_DATA here. */
const unusedService: EslTtsService = {
  resolve: () => {
    throw new Error('service reached')
  },
  hit: () => {
    throw new Error('service reached')
  },
  get: () => Promise.reject(new Error('service reached')),
  getAfterMiss: () => Promise.reject(new Error('service reached')),
}

async function startHook(allow: string | undefined): Promise<{ port: number; logger: RecordingLogger; registry: Registry }> {
  const logger = new RecordingLogger()
  const registry = new Registry()
  const server = new EslOutboundServer({
    host: '127.0.0.1',
    port: 0,
    defaultDeadlineMs: 1000,
    maxDeadlineMs: 2000,
    service: unusedService,
    logger,
    observer: createEslMetrics([registry]),
    allow: allow === undefined ? undefined : parseEslAllowList(allow),
  })
  const { port } = await server.listen()
  cleanups.push(() => server.close(100))
  return { port, logger, registry }
}

/** Connects from 127.0.0.1; resolves with what the hook sent before the socket closed or `connect\n\n` arrived. */
function dial(port: number): Promise<{ received: string; closedByPeer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' })
    let received = ''
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      if (received.includes('\n\n')) {
        socket.destroy()
        resolve({ received, closedByPeer: false })
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') resolve({ received, closedByPeer: true })
      else reject(err)
    })
    socket.on('end', () => resolve({ received, closedByPeer: true }))
  })
}

async function deniedCount(registry: Registry): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('tts_esl_denied_connections_total')?.get()
  return metric?.values.find((v) => v.labels['side'] === 'outbound')?.value
}

describe('TTS_ESL_ALLOW on the outbound hook (real sockets)', () => {
  it('closes a peer outside the list before writing a byte, logs it with the setting, counts it', async () => {
    const hook = await startHook('10.0.0.0/8,fd00::/8')
    const result = await dial(hook.port)
    expect(result).toEqual({ received: '', closedByPeer: true })
    const denied = hook.logger.entries.filter((e) => e.level === 'warn' && e.msg?.includes('TTS_ESL_ALLOW') === true)
    expect(denied).toHaveLength(1)
    expect(denied[0]?.obj).toMatchObject({ allow: '10.0.0.0/8,fd00::/8' })
    expect(String((denied[0]?.obj as { peer?: unknown }).peer)).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(await deniedCount(hook.registry)).toBe(1)
    // Not a call: no connection opened, nothing asked of the service.
    const opened = await hook.registry.getSingleMetric('tts_esl_connections_total')?.get()
    expect(opened?.values.find((v) => v.labels['side'] === 'outbound')?.value ?? 0).toBe(0)
  })

  it('lets a peer inside the list in: the hook starts the call (connect)', async () => {
    const hook = await startHook('127.0.0.0/8')
    const result = await dial(hook.port)
    expect(result).toEqual({ received: 'connect\n\n', closedByPeer: false })
    expect(await deniedCount(hook.registry)).toBe(0)
  })

  it('the default (config) is loopback only, so FreeSWITCH on the same host connects', async () => {
    const config = loadConfig({ env: {} })
    expect(config.eslAllow).toBe('127.0.0.0/8,::1/128')
    const hook = await startHook(config.eslAllow)
    expect((await dial(hook.port)).received).toBe('connect\n\n')
  })
})

describe('the allow-list parser', () => {
  it('matches CIDRs, single addresses, IPv6 and IPv4-mapped IPv6 peers', () => {
    const list = parseEslAllowList(' 10.1.0.0/16 , 192.0.2.7, fd00::/8 ')
    expect(list.spec).toBe('10.1.0.0/16,192.0.2.7,fd00::/8')
    expect(list.allows('10.1.200.3')).toBe(true)
    expect(list.allows('10.2.0.1')).toBe(false)
    expect(list.allows('192.0.2.7')).toBe(true)
    expect(list.allows('192.0.2.8')).toBe(false)
    expect(list.allows('::ffff:10.1.0.9')).toBe(true)
    expect(list.allows('::ffff:127.0.0.1')).toBe(false)
    expect(list.allows('fd12::1')).toBe(true)
    expect(list.allows('::1')).toBe(false)
    expect(list.allows(undefined)).toBe(false)
    const everyone = parseEslAllowList('0.0.0.0/0,::/0')
    expect(everyone.allows('203.0.113.9') && everyone.allows('2001:db8::1')).toBe(true)
  })

  it.each([[''], [' , '], ['10.0.0.0/33'], ['::/129'], ['10.0.0/8'], ['localhost'], ['10.0.0.0/8/1'], ['10.0.0.0/x']])(
    'rejects %j, naming the entry',
    (spec) => {
      expect(eslAllowListProblem(spec)).toBeDefined()
      expect(() => parseEslAllowList(spec)).toThrow(/TTS_ESL_ALLOW/)
    },
  )

  it('config refuses a bad TTS_ESL_ALLOW and names it', () => {
    let issues: string[] = []
    try {
      loadConfig({ env: { TTS_ESL_ALLOW: '10.0.0.0/8,not-an-ip' } })
    } catch (err) {
      if (isTtsError(err, 'TTS_ERR_CONFIG')) issues = err.details['issues'] as string[]
      else throw err
    }
    expect(issues.join('\n')).toMatch(/TTS_ESL_ALLOW.*not-an-ip/)
  })

  it('logs at most a burst of denials per window, then carries the count into the next line', () => {
    const logger = new RecordingLogger()
    let now = 0
    const log = new DeniedPeerLog(logger, () => now, '127.0.0.0/8')
    for (let i = 0; i < DENIED_LOG_DEFAULTS.burst + 5; i++) log.report(`198.51.100.1:${1000 + i}`)
    expect(logger.entries).toHaveLength(DENIED_LOG_DEFAULTS.burst)
    now += DENIED_LOG_DEFAULTS.windowMs
    log.report('198.51.100.1:2000')
    expect(logger.entries.at(-1)?.obj).toMatchObject({ peer: '198.51.100.1:2000', suppressed: 5 })
  })
})
