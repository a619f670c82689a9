import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { pino } from 'pino'
import { buildApp, type App, type AppOverrides } from '../../../src/app/build-app.js'
import { loadConfig } from '../../../src/config/load-config.js'
import type { Renderer } from '../../../src/core/ports/index.js'

export const ROOT = new URL('../../../', import.meta.url).pathname
export const FIXTURES = join(ROOT, 'test/fixtures/engines')

export interface TestApp {
  readonly app: App
  readonly dir: string
  readonly cacheDir: string
  /** Engine runs so far (the renderer is wrapped to count them). */
  renders(): number
  close(): Promise<void>
}

/** A fresh temp dir (removed by the returned cleanup). */
export async function tempDir(prefix = 'tts-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * The real app (real DiskStore, real espeak-ng + sox, real in-process pool) on a temp cache
 * dir, with the renderer wrapped to count engine runs. `env` is read like the CLI reads it.
 */
export async function startTestApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestApp> {
  const { dir, cleanup } = await tempDir()
  const cacheDir = join(dir, 'cache')
  const config = loadConfig({ env: { TTS_CACHE_DIR: cacheDir, TTS_LOG_LEVEL: 'silent', ...env } })
  let count = 0
  const app = await buildApp(config, {
    logger: pino({ level: 'silent' }),
    defaultMetrics: false,
    ...overrides,
    wrapRenderer: (inner: Renderer): Renderer => {
      const wrapped = overrides.wrapRenderer?.(inner) ?? inner
      return (job, signal) => {
        count++
        return wrapped(job, signal)
      }
    },
  })
  return {
    app,
    dir,
    cacheDir,
    renders: () => count,
    close: async () => {
      await app.close(5000)
      await cleanup()
    },
  }
}

/** Every file under `dir`, relative to it (to prove nothing was written elsewhere). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort()
}
