/**
 * One store lookup per pre-warm item: the batch looks each key up once when it is submitted (to
 * count what is cached); the hand-over to the service does not look it up again.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { buildApp, type App } from '../../src/app/build-app.js'
import { loadConfig } from '../../src/config/load-config.js'
import { PrewarmBatches } from '../../src/core/prewarm-batches.js'
import { FakeEngineCatalog } from '../fakes/engine-catalogs.js'
import { FakeRenderer } from '../fakes/fake-renderer.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function fakeApp(): Promise<App> {
  const root = await mkdtemp(join(tmpdir(), 'tts-prewarm-lookups-'))
  const config = loadConfig({ env: {}, overrides: { cacheDir: join(root, 'cache'), logLevel: 'silent', renderConcurrency: 2, queueLimit: 100 } })
  const renderer = new FakeRenderer()
  const app = await buildApp(config, { logger: pino({ level: 'silent' }), defaultMetrics: false, engines: new FakeEngineCatalog(), renderer: renderer.render })
  cleanups.push(async () => {
    await app.close(1000)
    await rm(root, { recursive: true, force: true })
  })
  return app
}

describe('pre-warm store lookups', () => {
  it("looks each item up once: at submission, not again when handing it to the service (the app's one tracker)", async () => {
    const app = await fakeApp()
    await app.service.get({ text: 'cached already' })
    await app.service.get({ text: 'cached, to pin' })
    const lookup = vi.spyOn(app.store, 'lookup')
    const { accepted, finished } = app.prewarm.request([{ text: 'new one' }, { text: 'new two' }, { text: 'cached already' }, { text: 'cached, to pin', pin: true }])
    expect(accepted).toMatchObject({ total: 4, cached: 2, queued: 2 })
    expect(await finished).toMatchObject({ state: 'done', done: 4, rendered: 2, failed: 0 })
    expect(lookup).toHaveBeenCalledTimes(4)
    expect(app.store.peek(app.service.resolve({ text: 'cached, to pin' }).key)?.pinned).toBe(true)
  })
})

describe('buildApp prewarm override', () => {
  it('takes a factory given the app parts, and closes that tracker with the app', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tts-prewarm-override-'))
    cleanups.push(() => rm(root, { recursive: true, force: true }))
    const config = loadConfig({ env: {}, overrides: { cacheDir: join(root, 'cache'), logLevel: 'silent' } })
    let given: PrewarmBatches | undefined
    const app = await buildApp(config, {
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
      engines: new FakeEngineCatalog(),
      renderer: new FakeRenderer().render,
      prewarm: (parts) => (given = new PrewarmBatches({ ...parts, newId: () => 'fixed-id' })),
    })
    expect(app.prewarm).toBe(given)
    expect(app.prewarm.submit([{ text: '' }]).id).toBe('fixed-id')
    await app.close(1000)
    expect(() => app.prewarm.submit([{ text: 'after close' }])).toThrowError(expect.objectContaining({ code: 'TTS_ERR_SHUTTING_DOWN' }))
  })
})
