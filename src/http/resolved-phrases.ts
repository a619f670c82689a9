import { LRUCache } from 'lru-cache'
import type { PhraseInput } from '../core/phrase.js'
import type { ResolvedPhrase, TtsService } from '../core/tts-service.js'

export interface ResolvedPhrasesOptions {
  /** Budget in characters of query strings kept (each entry also counts a fixed overhead). */
  readonly maxChars: number
  /** Query strings longer than this are resolved every time, never kept. */
  readonly maxQueryChars: number
}

export const RESOLVED_PHRASES_DEFAULTS: ResolvedPhrasesOptions = Object.freeze({ maxChars: 1024 * 1024, maxQueryChars: 4096 })

/** What an entry costs besides its query string (the resolved phrase, its text, the key), in characters. */
const ENTRY_OVERHEAD_CHARS = 256

/**
 * A memo of `service.resolve` by raw query string, so a repeated `GET /v1/tts?text=…` skips
 * text normalisation and the sha256 of its key. Only a memo: the same query string always
 * parses to the same input, and resolving an input is a pure function of it and of the engine
 * catalog, so each use checks the catalog still agrees (`service.isCurrent`: an engine's version
 * or voices can change at run time) and resolves again when not. Bounded in characters (LRU).
 * Inputs that do not resolve are never kept (resolving them again reports the error).
 * Nothing about the file is remembered: every hit still looks the key up (and stats the file).
 */
export class ResolvedPhrases {
  readonly #service: TtsService
  readonly #cache: LRUCache<string, ResolvedPhrase>
  readonly #maxQueryChars: number

  constructor(service: TtsService, options: ResolvedPhrasesOptions = RESOLVED_PHRASES_DEFAULTS) {
    this.#service = service
    this.#maxQueryChars = options.maxQueryChars
    this.#cache = new LRUCache<string, ResolvedPhrase>({ maxSize: options.maxChars, sizeCalculation: (_value, query) => query.length + ENTRY_OVERHEAD_CHARS })
  }

  /** Entries kept (for tests and diagnostics). */
  get size(): number {
    return this.#cache.size
  }

  /** The phrase `query` resolved to before, while still current; undefined otherwise (nothing resolved). */
  known(query: string): ResolvedPhrase | undefined {
    const known = this.#cache.get(query)
    return known !== undefined && this.#service.isCurrent(known) ? known : undefined
  }

  /**
   * The resolved phrase for the request whose raw query string is `query` and whose parsed,
   * validated input is `input`; undefined when the input does not resolve (the caller goes the
   * counted way, `service.get`, which reports the error).
   */
  resolve(query: string, input: PhraseInput): ResolvedPhrase | undefined {
    const known = this.known(query)
    if (known !== undefined) return known
    let resolved: ResolvedPhrase
    try {
      resolved = this.#service.resolve(input)
    } catch {
      // Not kept (nor an entry no longer current); the counted path resolves again and throws the same typed error.
      this.#cache.delete(query)
      return undefined
    }
    if (query.length <= this.#maxQueryChars) this.#cache.set(query, resolved)
    return resolved
  }
}

/** The raw query string of a request URL (after the first `?`, without any fragment); '' when none. */
export function rawQueryOf(url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return ''
  const hash = url.indexOf('#', start)
  return hash === -1 ? url.slice(start + 1) : url.slice(start + 1, hash)
}
