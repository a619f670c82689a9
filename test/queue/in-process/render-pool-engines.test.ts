import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TtsError } from '../../../src/core/errors.js'
import { EngineCatalog } from '../../../src/engines/catalog.js'
import { createEngineRenderer } from '../../../src/engines/pipeline/engine-renderer.js'
import { InProcessRenderPool } from '../../../src/queue/in-process/render-pool.js'
import {
  fixture,
  isProcessAlive,
  makeTempDir,
  readPidFile,
  removeTempDirs,
  renderJob,
  silentLogger,
  waitForFile,
} from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

const ABSENT = {
  swift: { path: '/nonexistent/swift' },
  flite: { path: '/nonexistent/flite' },
  pico2wave: { path: '/nonexistent/pico2wave' },
}

/** A pool running the real pipeline, whose `command` engine is the given fixture. */
async function realPool(commandFixture: string, env: Record<string, string>, concurrency = 2): Promise<InProcessRenderPool> {
  const catalog = await EngineCatalog.detect({
    defaultEngine: 'espeak-ng',
    engines: { ...ABSENT, command: { env } },
    commandTemplate: [fixture(commandFixture), '{out}'],
    logger: silentLogger,
  })
  return new InProcessRenderPool({
    renderer: createEngineRenderer(catalog, { killGraceMs: 50, logger: silentLogger }),
    concurrency,
    logger: silentLogger,
  })
}

async function rejection(promise: Promise<unknown>): Promise<TtsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(err instanceof TtsError)) throw new Error(`expected a TtsError rejection, got ${String(err)}`)
  return err
}

describe('InProcessRenderPool with the real render pipeline', () => {
  it('renders every job exactly once through the engine', async () => {
    const dir = await makeTempDir()
    const counter = join(dir, 'count')
    const pool = await realPool('count-invocations', { TTS_FIXTURE_COUNTER: counter })
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5']

    const results = await Promise.all(
      keys.map((key) => pool.render(renderJob(join(dir, `${key}.wav`), `phrase ${key}`, { engine: 'command', key }), { priority: 'live' })),
    )

    expect(results.every((audio) => audio.durationMs > 0)).toBe(true)
    expect((await readFile(counter, 'utf8')).trim().split('\n')).toHaveLength(5)
    expect((await readdir(dir)).sort()).toEqual(['count', ...keys.map((key) => `${key}.wav`)])
    await pool.close(1000)
  })

  it("aborting a running job kills its engine's whole process tree", async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const pool = await realPool('hang-with-grandchild', { TTS_FIXTURE_PIDFILE: pidFile })
    const controller = new AbortController()
    const rendering = pool.render(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), {
      priority: 'live',
      signal: controller.signal,
    })
    await waitForFile(pidFile)
    const { leader, grandchild } = await readPidFile(pidFile)

    controller.abort()

    expect((await rejection(rendering)).code).toBe('TTS_ERR_ABORTED')
    expect(await isProcessAlive(leader)).toBe(false)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(pool.stats().active).toBe(0)
    expect(await readdir(dir)).toEqual(['pids'])
    await pool.close(0)
  })

  it('close() kills engines still running after the grace period', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const pool = await realPool('hang-with-grandchild', { TTS_FIXTURE_PIDFILE: pidFile })
    const rendering = pool.render(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), { priority: 'prewarm' })
    await waitForFile(pidFile)
    const { grandchild } = await readPidFile(pidFile)

    await pool.close(0)

    expect((await rejection(rendering)).code).toBe('TTS_ERR_SHUTTING_DOWN')
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await readdir(dir)).toEqual(['pids'])
  })

  it('close() lets a slow render that is already running finish', async () => {
    const dir = await makeTempDir()
    const pool = await realPool('sleep-then-speak', { TTS_FIXTURE_SLEEP_S: '0.3' })
    const rendering = pool.render(renderJob(join(dir, 'out.wav'), 'hello', { engine: 'command' }), { priority: 'live' })
    // A free worker takes the job at once; whether the engine has got far yet does not matter.
    expect(pool.stats().active).toBe(1)

    await pool.close(60_000)

    expect((await rendering).durationMs).toBeGreaterThan(0)
    expect(await readdir(dir)).toEqual(['out.wav'])
  })
})
