/**
 * How a built app gets its engines: a service starts from the probes it remembers and re-checks
 * them once listening; one-shot commands always probe (see probe-memo.ts).
 */
import { join } from 'node:path'
import type { Logger as PinoLogger } from 'pino'
import type { Config } from '../config/schema.js'
import { EngineCatalog } from '../engines/catalog.js'
import type { RenderHost } from '../engines/host/render-host.js'
import { KNOWN_VERSIONS_FILE, loadKnownVersions, saveKnownVersions } from '../engines/known-versions.js'
import { PROBE_MEMO_FILE, ProbeMemo } from '../engines/probe-memo.js'
import { engineDetectOptions } from './engine-options.js'

export interface DetectedEngines {
  readonly engines: EngineCatalog
  /**
   * Runs the remembered probes again (in the render host when there is one), adopts what changed
   * and remembers the outputs for the next start. Never throws.
   */
  recheck(): Promise<void>
}

export async function detectAppEngines(config: Config, logger: PinoLogger, listeners: boolean, host: RenderHost | undefined): Promise<DetectedEngines> {
  // (Probing in the host on a first start, when nothing is remembered, measured no faster: the
  // niced host boots while this process has nothing else to do.)
  const detectOptions = engineDetectOptions(config, logger)
  const probeMemoFile = join(config.cacheDir, PROBE_MEMO_FILE)
  const memo = listeners ? await ProbeMemo.load(probeMemoFile, logger) : undefined
  // A service starts without its default engine (serving what is cached: known-versions.ts).
  const versionsFile = join(config.cacheDir, KNOWN_VERSIONS_FILE)
  const missingDefault = listeners ? { rememberedVersion: (await loadKnownVersions(versionsFile)).get(config.engine) } : undefined
  const engines = await EngineCatalog.detect({ ...detectOptions, memo, missingDefault })
  await rememberVersions(versionsFile, engines, logger)
  if (memo !== undefined && memo.counts.replayed > 0) {
    logger.info({ file: probeMemoFile, ...memo.counts }, 'engine probes replayed from the last start; re-checked once listening')
  } else if (memo !== undefined) {
    // Nothing replayed, nothing to re-check: remembered now, so a stop before the (delayed)
    // re-check loses nothing.
    await memo.save().catch((err: unknown) => logger.warn({ err, file: probeMemoFile }, 'could not remember the engine probes'))
  }
  const recheck = async (): Promise<void> => {
    if (memo === undefined || memo.counts.replayed === 0) return
    try {
      // Probed in the render host when there is one (no process start here); replayed here.
      const recorder = host === undefined ? ProbeMemo.recorder(probeMemoFile) : ProbeMemo.replaying(probeMemoFile, await host.probe(config.engine))
      const fresh = await EngineCatalog.detect({ ...detectOptions, memo: recorder, logFound: false, missingDefault })
      if (!recorder.sameAs(memo)) {
        const { changed, found, lost } = engines.adopt(fresh)
        if (changed.length > 0) logger.warn({ engines: changed }, 'engines changed since their probes were remembered: now using what they report')
        if (found.length + lost.length > 0) logger.warn({ found, lost }, 'engines found or lost since the start: restart the service to enable or disable them')
      }
      await recorder.save()
    } catch (err) {
      logger.warn({ err }, 'engine re-check failed: keeping the detection from the start')
    }
  }
  return { engines, recheck }
}

/** Remembers the versions found now, for a later start without the default engine. Never throws. */
async function rememberVersions(file: string, engines: EngineCatalog, logger: PinoLogger): Promise<void> {
  const found = new Map(engines.describe().engines.flatMap((e) => (e.found && e.version !== undefined ? [[e.id, e.version] as const] : [])))
  if (found.size === 0) return
  // A one-shot command on a directory it may not write is not worth a warning.
  await saveKnownVersions(file, found).catch((err: unknown) => logger.debug({ err, file }, 'could not remember the engine versions'))
}
