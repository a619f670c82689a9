/**
 * Secrets never reach a log line (issue 17, item 7): every object below goes through the real
 * logger (createLogger: redaction, serializers, the line scrubber) into a capture, and the secret
 * strings must not appear in what it wrote — whatever key, depth or shape carries them. The
 * WRONGPASS case runs against a real redis-server started with --requirepass.
 */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/load-config.js'
import { TtsError } from '../../src/core/errors.js'
import { authCommand } from '../../src/esl/codec/command.js'
import { REDACTED_LOG_PATHS } from '../../src/http/http-server.js'
import { createLogger, logSecretsOf } from '../../src/logger.js'
import { LogCapture } from '../fakes/loggers.js'
import { redisServerInstalled, spawnRedisServer, type SpawnedRedis } from '../harness/redis/server.js'

const REDIS_PASSWORD = 'redis-Pa55-wrong-7f3a'
const RIGHT_PASSWORD = 'redis-right-pass-91c2'
const ESL_PASSWORD = 'esl-Secret-4b1d'
const API_TOKEN = 'api-token-c0ffee-1234'
const ENGINE_KEY = 'engine-key-deadbeef-55'
const SECRETS = [REDIS_PASSWORD, RIGHT_PASSWORD, ESL_PASSWORD, API_TOKEN, ENGINE_KEY]

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** The service's logger as `serve` builds it for this config, writing into a capture. */
function loggerFor(env: Record<string, string>): { logger: ReturnType<typeof createLogger>; capture: LogCapture } {
  const config = loadConfig({ env: { TTS_CACHE_DIR: '/tmp/unused', ...env } })
  const capture = new LogCapture()
  return { logger: createLogger({ level: 'debug', destination: capture, secrets: logSecretsOf(config) }), capture }
}

function expectNoSecret(text: string): void {
  for (const secret of SECRETS) {
    expect(text, `secret ${secret} leaked`).not.toContain(secret)
    expect(text, `secret ${secret} leaked (encoded)`).not.toContain(encodeURIComponent(secret))
  }
}

describe('a Redis password rejected by the server (WRONGPASS)', () => {
  it.skipIf(!redisServerInstalled())('is not in the logged error (ioredis puts the AUTH / HELLO arguments in err.command.args)', async () => {
    const redis: SpawnedRedis = await spawnRedisServer(['--requirepass', RIGHT_PASSWORD])
    cleanups.push(() => redis.stop())
    const url = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`
    const { logger, capture } = loggerFor({ REDIS_URL: url })
    // ioredis reports the refused AUTH as an 'error' event on the client.
    const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null })
    cleanups.push(async () => {
      client.disconnect()
    })
    const failure = await new Promise<Error & { command?: { name: string; args: string[] } }>((resolve) => {
      client.on('error', (err: Error) => {
        if (/WRONGPASS/.test(err.message)) resolve(err)
      })
    })
    // The leak exists at the source: the error carries the password we sent.
    expect(failure?.message).toMatch(/WRONGPASS/)
    expect(failure?.command?.name).toMatch(/^(auth|hello)$/)
    expect(failure?.command?.args).toContain(REDIS_PASSWORD)

    const log = logger.child({ component: 'queue', target: url })
    log.warn({ err: failure }, 'redis connection error')
    log.warn({ error: failure, url }, 'an error under another key')
    log.error({ err: new TtsError('TTS_ERR_QUEUE_UNAVAILABLE', { args: ['auth failed'], cause: failure }) }, 'wrapped in a TtsError')
    log.warn({ details: { attempts: [{ failure }] } }, 'nested in plain objects and arrays')
    log.warn({ err: new AggregateError([failure], 'all nodes failed') }, 'inside an AggregateError')
    logger.flush()
    expect(capture.lines).toHaveLength(5)
    expectNoSecret(capture.text)
    // What the operator needs is still there.
    expect(capture.text).toContain('WRONGPASS')
    expect(capture.text).toContain(`127.0.0.1:${redis.port}`)
    expect(capture.text).toMatch(/"command":\{"name":"(auth|hello)"/)
    // The original error is untouched (the serializer copies, never mutates).
    expect(failure?.command?.args).toContain(REDIS_PASSWORD)
  })
})

describe('every other path a secret could take', () => {
  const env = {
    REDIS_URL: `redis://default:${REDIS_PASSWORD}@redis.internal:6379/0`,
    FS_ESL_PASSWORD: ESL_PASSWORD,
    TTS_API_TOKEN: API_TOKEN,
  }

  it.each<[string, (logger: ReturnType<typeof createLogger>) => void]>([
    ['a URL with userinfo in the message', (l) => l.warn({}, `cannot reach redis://:${REDIS_PASSWORD}@10.0.0.1:6379`)],
    ['a URL with userinfo in a child binding', (l) => l.child({ target: `rediss://user:${REDIS_PASSWORD}@h:6380` }).info({}, 'connected')],
    ['a URL with userinfo deep in an object', (l) => l.info({ a: { b: [{ url: `http://admin:${REDIS_PASSWORD}@x.example/` }] } }, 'deep')],
    ['a URL with userinfo in an error message and stack', (l) => l.error({ err: new Error(`connect to redis://:${REDIS_PASSWORD}@h failed`) }, 'boom')],
    ['a password query parameter', (l) => l.info({ url: `redis://h:6379/?password=${REDIS_PASSWORD}` }, 'query')],
    ['the config object', (l) => l.info({ config: loadConfig({ env: { TTS_CACHE_DIR: '/tmp/unused', ...env } }) }, 'config')],
    ['the ESL password as a field', (l) => l.info({ fsEslPassword: ESL_PASSWORD, inbound: { password: ESL_PASSWORD } }, 'esl')],
    ['the ESL auth command in a message', (l) => l.warn({ sent: `auth ${ESL_PASSWORD}` }, `FreeSWITCH refused auth ${ESL_PASSWORD}`)],
    ['the ESL auth command on an error', (l) => l.warn({ err: Object.assign(new Error('-ERR invalid'), { command: { name: 'auth', line: `auth ${ESL_PASSWORD}` } }) }, 'esl auth')],
    ['a bearer token in headers', (l) => l.info({ req: { headers: { authorization: `Bearer ${API_TOKEN}` } }, headers: { Authorization: `Bearer ${API_TOKEN}` } }, 'req')],
    ['a bearer token in a message', (l) => l.info({}, `got Authorization: Bearer ${API_TOKEN}`)],
    ['the API token as a field', (l) => l.info({ apiToken: API_TOKEN, nested: { token: API_TOKEN } }, 'token')],
    ['an engine command env', (l) => l.warn({ engine: { id: 'command', env: { API_KEY: ENGINE_KEY } } }, 'engine env')],
    ['an engine env on a spawn error', (l) => l.warn({ err: Object.assign(new Error('spawn my-tts ENOENT'), { spawnargs: ['x'], env: { API_KEY: ENGINE_KEY } }) }, 'spawn')],
    ['the ESL auth command object', (l) => l.warn({ command: authCommand(ESL_PASSWORD) }, 'auth not answered')],
    [
      'an error through the HTTP child logger (its own redact paths)',
      (l) =>
        l
          .child({ component: 'http' }, { redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' } })
          .error({ err: Object.assign(new Error('WRONGPASS'), { command: { name: 'auth', args: [REDIS_PASSWORD] } }), headers: { authorization: `Bearer ${API_TOKEN}` } }, 'request failed'),
    ],
    ['a HELLO with AUTH', (l) => l.warn({ err: Object.assign(new Error('WRONGPASS'), { command: { name: 'hello', args: ['3', 'AUTH', 'default', REDIS_PASSWORD] } }) }, 'hello')],
  ])('%s', (_what, write) => {
    const { logger, capture } = loggerFor(env)
    write(logger)
    logger.flush()
    expect(capture.lines.length).toBeGreaterThan(0)
    expectNoSecret(capture.text)
    for (const line of capture.lines) expect(() => JSON.parse(line) as unknown).not.toThrow()
  })

  it('keeps what is not secret: hosts, ports, user names, ordinary fields', () => {
    const { logger, capture } = loggerFor(env)
    logger.warn({ target: `redis://default:${REDIS_PASSWORD}@redis.internal:6379/0`, tokens: 3, env: 'production' }, 'cannot reach redis')
    logger.flush()
    const line = JSON.parse(capture.lines[0] ?? '{}') as Record<string, unknown>
    expect(line['target']).toBe('redis://default:[redacted]@redis.internal:6379/0')
    expect(line['tokens']).toBe(3)
    expect(line['msg']).toBe('cannot reach redis')
  })
})
