/** Render requests and jobs keyed as the service keys them (at fixedCatalog's engine version). */
import { cacheKeyFor } from '../../../src/core/cache-key.js'
import { AUDIO_FORMAT } from '../../../src/core/defaults.js'
import type { PhraseRequest } from '../../../src/core/phrase.js'
import type { RenderJob } from '../../../src/core/ports/index.js'
import { ENGINE_VERSION } from '../../fakes/engine-catalogs.js'

export const SAMPLE_RATE = 8000

export function requestFor(text: string): PhraseRequest {
  return Object.freeze({ text, voice: '', engine: 'espeak-ng', sampleRate: SAMPLE_RATE, format: AUDIO_FORMAT })
}

/** A RenderJob for `text` writing to `outPath`, keyed as the service would key it. */
export function jobFor(text: string, outPath: string): RenderJob {
  const request = requestFor(text)
  return { key: cacheKeyFor(request, ENGINE_VERSION), request, engineVersion: ENGINE_VERSION, outPath }
}
