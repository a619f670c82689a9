/** Engines known to this process and their versions (detected once at start). */
export interface EngineCatalog {
  /** Throws TTS_ERR_UNKNOWN_ENGINE when absent or disabled. */
  versionOf(engine: string): string
  /** Throws TTS_ERR_UNKNOWN_VOICE when the engine lists its voices and `voice` is not one. */
  checkVoice(engine: string, voice: string): void
  ids(): readonly string[]
  /**
   * Why `engine` cannot render now although its keys can be computed (a default engine that was
   * missing at the start: cached phrases are served, misses fail at once), else undefined.
   */
  unavailable?(engine: string): Error | undefined
}
