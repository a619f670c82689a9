import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { buildApp, type App } from '../../src/app/build-app.js'
import { loadConfig } from '../../src/config/load-config.js'
import { tempDir } from '../harness/app/test-app.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The real app on `cacheDir`; `listeners` as `serve` (true) or a one-shot command (false) builds it. */
async function appOn(cacheDir: string, listeners: boolean): Promise<App> {
  const config = loadConfig({ env: { TTS_CACHE_DIR: cacheDir, TTS_LOG_LEVEL: 'silent' } })
  const app = await buildApp(config, { logger: pino({ level: 'silent' }), defaultMetrics: false, listeners })
  cleanups.push(() => app.close(5000))
  return app
}

describe('serve on a cache it has not indexed yet', () => {
  it('is ready at once, answers cached sentences as hits from disk, and indexes them once the scan runs', async () => {
    const { dir, cleanup } = await tempDir()
    cleanups.push(cleanup)
    const cacheDir = join(dir, 'cache')
    const sentences = ['Your call is important to us.', 'Press one for sales.', 'Goodbye.']
    const first = await appOn(cacheDir, false)
    for (const text of sentences) expect((await first.service.get({ text })).status).toBe('rendered')
    await first.close(5000)

    const app = await appOn(cacheDir, true)
    const before = await app.readiness()
    expect(before.ok).toBe(true)
    expect(before.checks['index']).toMatchObject({ ok: true, state: 'ok', detail: expect.stringMatching(/^scanning the cache directory: 0 entries indexed so far/) })
    expect(app.store.stats().entries).toBe(0)
    const hit = await app.service.get({ text: sentences[1] ?? '' })
    expect(hit.status).toBe('hit')

    app.store.startScan()
    await app.store.indexed()
    expect(app.store.stats().entries).toBe(3)
    expect((await app.readiness()).checks['index']).toEqual({ ok: true, state: 'ok', detail: '3 entries' })
    for (const text of sentences) expect((await app.service.get({ text })).status).toBe('hit')
  })

  it('a one-shot command (no listeners) has the whole index when the app is built', async () => {
    const { dir, cleanup } = await tempDir()
    cleanups.push(cleanup)
    const cacheDir = join(dir, 'cache')
    const first = await appOn(cacheDir, false)
    await first.service.get({ text: 'Indexed before anything runs.' })
    await first.close(5000)
    const app = await appOn(cacheDir, false)
    expect(app.store.stats().entries).toBe(1)
    expect(app.store.indexing.state).toBe('done')
  })
})
