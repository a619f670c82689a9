import type { Logger, Renderer } from '../../core/ports/index.js'
import type { EngineAdapter } from '../adapters/engine-adapter.js'
import { renderToFile } from './render-audio.js'

export interface EngineRendererOptions {
  readonly timeoutMs?: number | undefined
  readonly killGraceMs?: number | undefined
  readonly soxPath?: string | undefined
  readonly logger?: Logger | undefined
}

/** Anything that hands out the adapter of an enabled engine (the EngineCatalog). */
export interface EngineAdapterSource {
  /** Throws TTS_ERR_UNKNOWN_ENGINE when the engine is absent or disabled. */
  adapter(id: string): EngineAdapter
}

/**
 * The real renderer a render queue runs: picks the job's engine adapter and renders with
 * `renderToFile`. This is what the composition root passes to the in-process pool.
 */
export function createEngineRenderer(
  engines: EngineAdapterSource,
  options: EngineRendererOptions = {},
): Renderer {
  return (job, signal) => renderToFile(job, { ...options, engine: engines.adapter(job.request.engine), signal })
}
