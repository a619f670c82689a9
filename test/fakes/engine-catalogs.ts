/** Engine catalogs with fixed engines and voices (no probing), held to test/contracts/engine-catalog.test.ts. */
import { TtsError } from '../../src/core/errors.js'
import type { EngineCatalog } from '../../src/core/ports/index.js'

/** The engine version fixedCatalog reports (and the cluster tests key their jobs with). */
export const ENGINE_VERSION = 'fixture-1'

/** A catalog with one engine at a fixed version (the cluster tests need no real engine). */
export function fixedCatalog(version = ENGINE_VERSION): EngineCatalog {
  const versionOf = (engine: string): string => {
    if (engine !== 'espeak-ng') throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
    return version
  }
  return {
    versionOf,
    // Any voice of its one engine (it lists none); another engine is unknown, as in the real catalog.
    checkVoice: (engine: string) => void versionOf(engine),
    ids: () => ['espeak-ng'],
  }
}

/** Fixed engines: `espeak-ng` (voices en, en-us, fr) and `flite` (any voice). */
export class FakeEngineCatalog implements EngineCatalog {
  readonly #voices: Readonly<Record<string, readonly string[] | undefined>>

  constructor(voices: Readonly<Record<string, readonly string[] | undefined>> = { 'espeak-ng': ['en', 'en-us', 'fr'], flite: undefined }) {
    this.#voices = voices
  }

  versionOf(engine: string): string {
    if (!Object.hasOwn(this.#voices, engine)) throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
    return 'fake-1'
  }

  checkVoice(engine: string, voice: string): void {
    this.versionOf(engine) // an engine it does not hold: TTS_ERR_UNKNOWN_ENGINE, as the real catalog
    const list = this.#voices[engine]
    if (list !== undefined && voice !== '' && !list.includes(voice)) throw new TtsError('TTS_ERR_UNKNOWN_VOICE', { args: [engine, voice] })
  }

  ids(): readonly string[] {
    return Object.keys(this.#voices)
  }
}
