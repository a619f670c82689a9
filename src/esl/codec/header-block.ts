import { TtsError } from '../../core/errors.js'

/** One header as it came off the wire: name and raw (not URL-decoded) value. */
export type EslHeader = readonly [name: string, value: string]

/**
 * A header block and where its lines are: three offsets per non-empty line — name start, the
 * first `:`, the end of the value (a trailing CR excluded) — into `bytes`. Found in one pass
 * over the bytes without splitting or decoding anything, so reading one header costs one small
 * decode, whatever the size of the block.
 */
export interface HeaderBlock {
  readonly bytes: Buffer
  /** [nameStart, colon, valueEnd] per non-empty line, flattened. */
  readonly offsets: readonly number[]
  /** Index in `bytes` of the LF that starts the blank line ending the block (or the scan limit). */
  readonly end: number
  /** Index into `offsets` of the first Content-Length / Content-Type line, -1 if none. */
  readonly contentLengthAt: number
  readonly contentTypeAt: number
}

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
const SPACE = 0x20
const CONTENT_LENGTH = 'content-length'
const CONTENT_TYPE = 'content-type'

/**
 * Scans the header block at the start of `bytes` (leading blank lines already skipped), up to
 * `limit` (the LF of the first "\n\n", or the end). A line holding only CR is a blank line
 * written "\n\r\n": the block ends before it (`end`). Every non-empty line needs a name and a
 * `:`; the first line that has none is returned as a TTS_ERR_ESL_PROTOCOL error. The result
 * keeps `bytes` (no copy).
 */
export function scanHeaderBlock(bytes: Buffer, limit: number = bytes.length): HeaderBlock | TtsError {
  return scanLines(bytes, limit, true)
}

function scanLines(bytes: Buffer, limit: number, crLineEndsBlock: boolean): HeaderBlock | TtsError {
  // Two tight loops per line (to the first `:` or LF, then to the LF) beat both a single loop
  // with more branches and native indexOf calls per line (measured on a captured CHANNEL_DATA).
  const offsets: number[] = []
  let contentLengthAt = -1
  let contentTypeAt = -1
  let start = 0
  while (start < limit) {
    let colon = start
    while (colon < limit && bytes[colon] !== COLON && bytes[colon] !== LF) colon++
    let end = colon
    while (end < limit && bytes[end] !== LF) end++
    const lineEnd = end > start && bytes[end - 1] === CR ? end - 1 : end
    if (lineEnd === start) {
      // Only a CR: "\n\r\n" is a blank line, FreeSWITCH's reader ends the block here too.
      if (end > start && crLineEndsBlock) return { bytes, offsets, end: start - 1, contentLengthAt, contentTypeAt }
    } else {
      if (colon <= start || colon >= lineEnd) return malformed(bytes, start, lineEnd)
      const nameLength = colon - start
      if (nameLength === CONTENT_LENGTH.length && contentLengthAt < 0 && sameName(bytes, start, CONTENT_LENGTH)) contentLengthAt = offsets.length
      if (nameLength === CONTENT_TYPE.length && contentTypeAt < 0 && sameName(bytes, start, CONTENT_TYPE)) contentTypeAt = offsets.length
      offsets.push(start, colon, lineEnd)
    }
    start = end + 1
  }
  return { bytes, offsets, end: limit, contentLengthAt, contentTypeAt }
}

/** The value of the line at `at` (an index into `offsets`), decoded as UTF-8. */
export function valueAt(block: HeaderBlock, at: number): string {
  const { bytes, offsets } = block
  const colon = offsets[at + 1] as number
  const end = offsets[at + 2] as number
  return bytes.toString('utf8', valueStart(bytes, colon, end), end)
}

/**
 * The value of the first line whose name equals `name` ignoring ASCII case (FreeSWITCH
 * compares header names with strcasecmp). The value is everything after the `:` and one
 * optional space, decoded as UTF-8.
 */
export function findHeader(block: HeaderBlock, name: string): string | undefined {
  const wanted = wireName(name)
  const { bytes, offsets } = block
  for (let i = 0; i < offsets.length; i += 3) {
    const start = offsets[i] as number
    if ((offsets[i + 1] as number) - start === wanted.length && sameName(bytes, start, wanted)) return valueAt(block, i)
  }
  return undefined
}

/** Names to look up together, prepared once (see {@link findHeaders}). */
export interface HeaderQuery {
  readonly names: readonly string[]
  /** The names as compared byte by byte (see wireName). */
  readonly wanted: readonly string[]
  /** Indexes into `wanted` by name length in bytes. */
  readonly byLength: readonly (readonly number[] | undefined)[]
}

export function headerQuery(names: readonly string[]): HeaderQuery {
  const wanted = names.map(wireName)
  const byLength: number[][] = []
  wanted.forEach((w, j) => (byLength[w.length] ??= []).push(j))
  return { names: [...names], wanted, byLength }
}

/**
 * Several headers in one pass over the lines (first match each, as {@link findHeader}): the
 * CHANNEL_DATA reader wants ten of ~115 lines, most of them usually absent.
 */
export function findHeaders(block: HeaderBlock, query: HeaderQuery): (string | undefined)[] {
  const found: (string | undefined)[] = new Array<string | undefined>(query.names.length).fill(undefined)
  let missing = query.names.length
  const { bytes, offsets } = block
  for (let i = 0; i < offsets.length && missing > 0; i += 3) {
    const start = offsets[i] as number
    const candidates = query.byLength[(offsets[i + 1] as number) - start]
    if (candidates === undefined) continue
    for (const j of candidates) {
      if (found[j] === undefined && sameName(bytes, start, query.wanted[j] as string)) {
        found[j] = valueAt(block, i)
        missing--
      }
    }
  }
  return found
}

/** Every line as [name, value], in order. */
export function headersOf(block: HeaderBlock): EslHeader[] {
  const { bytes, offsets } = block
  const headers: EslHeader[] = []
  for (let i = 0; i < offsets.length; i += 3) {
    headers.push([bytes.toString('utf8', offsets[i] as number, offsets[i + 1] as number), valueAt(block, i)])
  }
  return headers
}

/**
 * Parses `Name: value` lines. The value is everything after the first `:` and one optional
 * space (FreeSWITCH writes exactly ": "); a trailing CR is dropped. A non-empty line with no
 * `:` or an empty name is an error.
 */
export function parseHeaderBlock(text: string): EslHeader[] | TtsError {
  const bytes = Buffer.from(text, 'utf8')
  const block = scanLines(bytes, bytes.length, false)
  return block instanceof TtsError ? block : headersOf(block)
}

/** The name as compared byte by byte: ASCII as is, anything else as its UTF-8 bytes. */
function wireName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) >= 0x80) return Buffer.from(name, 'utf8').toString('latin1')
  }
  return name
}

/** Compares bytes with `wanted` (one char per byte), ASCII letters case-insensitively. */
function sameName(bytes: Buffer, start: number, wanted: string): boolean {
  for (let k = 0; k < wanted.length; k++) {
    const a = bytes[start + k] as number
    const b = wanted.charCodeAt(k)
    if (a === b) continue
    const lowerA = a >= 0x41 && a <= 0x5a ? a + 32 : a
    const lowerB = b >= 0x41 && b <= 0x5a ? b + 32 : b
    if (lowerA !== lowerB) return false
  }
  return true
}

function valueStart(bytes: Buffer, colon: number, end: number): number {
  return colon + 1 < end && bytes[colon + 1] === SPACE ? colon + 2 : colon + 1
}

function malformed(bytes: Buffer, start: number, end: number): TtsError {
  const line = bytes.toString('utf8', start, end)
  return new TtsError('TTS_ERR_ESL_PROTOCOL', { args: [`malformed header line ${JSON.stringify(line.slice(0, 40))}`] })
}
