/**
 * Conditional and partial requests for content-addressed audio (RFC 9110 §13, §14).
 * The entity tag of a file is its cache key: the key names the exact audio, so a strong tag.
 */

export function etagFor(key: string): string {
  return `"${key}"`
}

/**
 * If-None-Match uses the weak comparison: `*`, or any listed tag whose opaque part equals
 * the key (a `W/` prefix is ignored).
 */
export function ifNoneMatchMatches(header: string | undefined, key: string): boolean {
  if (header === undefined) return false
  const trimmed = header.trim()
  if (trimmed === '*') return true
  for (const raw of trimmed.split(',')) {
    let tag = raw.trim()
    if (tag.startsWith('W/')) tag = tag.slice(2)
    if (tag === `"${key}"`) return true
  }
  return false
}

/**
 * If-Range uses the strong comparison and only entity tags count (we send no Last-Modified,
 * so a date never matches): the Range applies only when the tag is exactly ours.
 */
export function ifRangeAllowsRange(header: string | undefined, key: string): boolean {
  return header === undefined || header.trim() === `"${key}"`
}

/** An inclusive byte range within a file. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

export type RangeDecision =
  /** No usable Range header: send the whole file (200). */
  | { readonly kind: 'full' }
  /** One satisfiable range: 206 with Content-Range. */
  | { readonly kind: 'partial'; readonly range: ByteRange }
  /** Syntactically fine but nothing in the file: 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: 'unsatisfiable' }

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/

/**
 * Reads a `Range` header against a file of `size` bytes. Only one range is served; a
 * multi-range or malformed header is ignored (the whole file is sent, which RFC 9110 allows).
 * Forms: `bytes=a-b`, `bytes=a-` (to the end), `bytes=-n` (the last n bytes).
 */
export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' }
  const match = SINGLE_RANGE.exec(header.replace(/\s+/g, ''))
  if (match === null) return { kind: 'full' }
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return { kind: 'full' }
  if (first === '') {
    const suffix = Number(last)
    if (!Number.isSafeInteger(suffix)) return { kind: 'full' }
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } }
  }
  const start = Number(first)
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last)
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { kind: 'full' }
  // `bytes=9-2` is invalid, so ignored (RFC 9110 §14.1.1); a first byte past the end is unsatisfiable.
  if (end < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', range: { start, end: Math.min(end, size - 1) } }
}
