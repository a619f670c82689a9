import { pino } from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { describe, expect, it } from 'vitest'
import { LazyRequestLogger, lazyChildLoggerFactory } from '../../src/http/lazy-request-logger.js'
import { LogCapture } from '../fakes/loggers.js'
import { auth, testApp } from '../harness/http/test-apps.js'

function parentLogger(level = 'info'): { logs: LogCapture; parent: FastifyBaseLogger; childCalls: () => number } {
  const logs = new LogCapture()
  const parent = pino({ level, redact: { paths: ['headers.authorization'], censor: '[redacted]' } }, logs).child({ component: 'http' })
  let calls = 0
  const child = parent.child.bind(parent)
  parent.child = ((...args: Parameters<typeof child>) => {
    calls++
    return child(...args)
  }) as typeof parent.child
  return { logs, parent: parent as unknown as FastifyBaseLogger, childCalls: () => calls }
}

describe('LazyRequestLogger', () => {
  it('makes no pino child until a line is written, and reads the level without one', () => {
    const { parent, childCalls } = parentLogger('warn')
    const log = lazyChildLoggerFactory(parent, { reqId: 'r-1' }, {})
    expect(log.level).toBe('warn')
    expect(new LazyRequestLogger(parent, { reqId: 'r-2' }, { level: 'debug' }).level).toBe('debug')
    expect(childCalls()).toBe(0)
    log.info('below the level')
    expect(childCalls()).toBe(1)
    log.warn('again')
    expect(childCalls()).toBe(1)
  })

  it('writes the lines the pino child would: same bindings, same redaction, same levels', () => {
    const lazy = parentLogger()
    const eager = parentLogger()
    const lines = (capture: LogCapture): unknown[] => capture.lines.map((l) => ({ ...(JSON.parse(l) as Record<string, unknown>), time: 0, pid: 0, hostname: '' }))
    for (const [log, label] of [
      [lazyChildLoggerFactory(lazy.parent, { reqId: 'r-9' }, {}), 'lazy'],
      [eager.parent.child({ reqId: 'r-9' }), 'eager'],
    ] as const) {
      log.info({ headers: { authorization: 'Bearer secret' } }, 'headers')
      log.debug('not written')
      log.error({ code: 'X' }, 'failed')
      log.child({ step: 1 }).warn('nested')
      log.level = 'debug'
      log.debug({ label: 'same' }, 'now written')
      expect(label).toBeDefined()
    }
    expect(lines(lazy.logs)).toEqual(lines(eager.logs))
    expect(lazy.logs.text).toContain('[redacted]')
    expect(lazy.logs.text).not.toContain('secret')
    expect(lazy.logs.lines).toHaveLength(4)
  })

  it('a request line through the server carries its request id', async () => {
    const t = await testApp()
    try {
      const res = await t.app.inject({ method: 'GET', url: `/v1/audio/${'a'.repeat(64)}.wav`, headers: auth })
      expect(res.statusCode).toBe(404)
      const line = t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['code'] === 'TTS_ERR_NOT_FOUND')
      expect(line).toMatchObject({ reqId: res.headers['x-request-id'], component: 'http' })
    } finally {
      await t.close()
    }
  })
})
