/**
 * The config → engines map, in one place: what `buildApp`, `tts-cache worker` and `doctor`
 * detect the engines with, and the in-process engine pipeline they render with.
 */
import { engineAdapterOptionsOf } from '../config/engine-binaries.js'
import type { Config } from '../config/schema.js'
import type { Renderer } from '../core/ports/index.js'
import { EngineCatalog, type EngineCatalogOptions } from '../engines/catalog.js'
import { createEngineRenderer } from '../engines/pipeline/engine-renderer.js'
import type { Logger as PinoLogger } from 'pino'

/** What `EngineCatalog.detect` needs from the config (every engine's binary, sox, the default engine). */
export function engineDetectOptions(config: Config, logger: PinoLogger): EngineCatalogOptions {
  return { defaultEngine: config.engine, soxPath: config.soxBin, logger, ...engineAdapterOptionsOf(config) }
}

/**
 * Probes every configured engine now (no remembered probes). `allowMissingDefault`: a missing
 * default engine is described (not thrown), for `doctor` to report every engine.
 */
export function detectEngines(config: Config, logger: PinoLogger, allowMissingDefault = false): Promise<EngineCatalog> {
  return EngineCatalog.detect({ ...engineDetectOptions(config, logger), ...(allowMissingDefault ? { missingDefault: { rememberedVersion: undefined } } : {}) })
}

/** The in-process engine pipeline (engine → sox → validate) on a detected catalog. */
export function engineRendererFor(config: Config, engines: EngineCatalog, logger: PinoLogger): Renderer {
  return createEngineRenderer(engines, { timeoutMs: config.renderTimeoutMs, soxPath: config.soxBin, logger })
}
