import type { PhraseRequest } from './phrase.js'
import type { CacheEntry, Priority, RequestSource, ResultStatus } from './ports/index.js'

/** What TtsService answers and takes (tts-service.ts); here so that its helpers need not import the service. */

export interface TtsResult {
  readonly key: string
  readonly path: string
  readonly status: ResultStatus
  readonly bytes: number
  readonly durationMs: number
  readonly entry: CacheEntry
}

export interface GetOptions {
  /** This caller stops waiting when it aborts (a timeout reason maps to TTS_ERR_DEADLINE_EXCEEDED). */
  readonly signal?: AbortSignal | undefined
  /** Default 'live'. Pre-warm work waits behind live calls. */
  readonly priority?: Priority | undefined
  /** Keep the render going if this caller gives up. Default: true for pre-warm, false otherwise. */
  readonly keepAlive?: boolean | undefined
  /** Never evict the entry (pre-warmed prompts). */
  readonly pin?: boolean | undefined
  /** Re-render even if cached, atomically replacing the old file. */
  readonly refresh?: boolean | undefined
  readonly source?: RequestSource | undefined
}

export interface ResolvedPhrase {
  readonly request: PhraseRequest
  readonly key: string
  readonly engineVersion: string
}
