/**
 * `/readyz` and `doctor`'s view of a built app: one probe per dependency (cache dir, index,
 * default engine, Redis; listeners add theirs), run together, a throwing probe counted as failed.
 */
import { constants as fsConstants } from 'node:fs'
import { access } from 'node:fs/promises'
import type { Config } from '../config/schema.js'
import { toTtsError } from '../core/errors.js'
import type { EngineCatalog as EngineCatalogPort, ReadinessCheck, ReadinessReport } from '../core/ports/index.js'
import { EngineCatalog } from '../engines/catalog.js'
import type { DiskStore } from '../store/disk/disk-store.js'

export type ReadinessProbe = () => ReadinessCheck | Promise<ReadinessCheck>

/** The probes every app has: the cache dir, its index, the default engine; plus Redis when given. */
export function coreProbes(config: Config, store: DiskStore, engines: EngineCatalogPort, redis: ReadinessProbe | undefined): Map<string, ReadinessProbe> {
  const probes = new Map<string, ReadinessProbe>()
  // Vanished, replaced or unmounted directory, not writable, or below TTS_MIN_FREE_BYTES (DiskStore.health).
  probes.set('cacheDir', async () => {
    const { state, detail } = await store.health()
    return { ok: state !== 'failed', state, detail }
  })
  probes.set('index', () => {
    const { state, error } = store.indexing
    const { entries } = store.stats()
    if (state === 'failed') {
      return { ok: true, state: 'degraded', detail: `scan failed (${error?.message ?? 'unknown'}); ${entries} entries indexed, the rest are read from disk when asked for` }
    }
    if (state === 'scanning') return { ok: true, state: 'ok', detail: `scanning the cache directory: ${entries} entries indexed so far, the rest are read from disk when asked for` }
    return { ok: true, state: 'ok', detail: `${entries} entries` }
  })
  probes.set('engine', () => engineProbe(config, engines))
  if (redis !== undefined) probes.set('redis', redis)
  return probes
}

async function engineProbe(config: Config, engines: EngineCatalogPort): Promise<ReadinessCheck> {
  // A catalog given to buildApp (a fake, a vendor's) has no binary to check: it is ready when it has the engine.
  if (!(engines instanceof EngineCatalog)) {
    return engines.ids().includes(config.engine) ? { ok: true, state: 'ok', detail: config.engine } : { ok: false, state: 'failed', detail: `${config.engine} not found` }
  }
  // Missing or gone: still ready (hits are served from the cache), degraded (misses fail at once).
  const missing = engines.missingDefault
  if (missing !== undefined) {
    return missing.rememberedVersion === undefined
      ? { ok: true, state: 'degraded', detail: `${config.engine} not found and no version remembered from an earlier start: no cached phrase can be matched, every call fails (${MISSES_FAIL_WITH})` }
      : { ok: true, state: 'degraded', detail: `${config.engine} not found: cached phrases (version ${missing.rememberedVersion}) are served, misses fail (${MISSES_FAIL_WITH})` }
  }
  const status = engines.describe().engines.find((e) => e.isDefault)
  const path = status?.path
  if (path === undefined) return { ok: true, state: 'degraded', detail: `${config.engine} not found: cached phrases are served, misses fail (${MISSES_FAIL_WITH})` }
  try {
    await access(path, fsConstants.X_OK)
    return { ok: true, state: 'ok', detail: `${config.engine} ${status?.version ?? ''}`.trim() }
  } catch {
    return { ok: true, state: 'degraded', detail: `${config.engine} at ${path} is no longer executable: cached phrases are served, misses fail (${MISSES_FAIL_WITH})` }
  }
}

const MISSES_FAIL_WITH = 'TTS_ERR_ENGINE_UNAVAILABLE; install it or set TTS_ENGINE'

/** Runs every probe at once; the report is ok when every check is. */
export async function readinessOf(probes: ReadonlyMap<string, ReadinessProbe>): Promise<ReadinessReport> {
  const entries = await Promise.all(
    [...probes].map(async ([name, probe]): Promise<[string, ReadinessCheck]> => {
      try {
        return [name, await probe()]
      } catch (err) {
        return [name, { ok: false, state: 'failed', detail: toTtsError(err).message }]
      }
    }),
  )
  return { ok: entries.every(([, check]) => check.ok), checks: Object.fromEntries(entries) }
}
