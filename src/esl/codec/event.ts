import type { EslFrame, EslHeader } from './frame.js'
import { parseHeaderBlock } from './frame-parser.js'
import { percentDecode } from './percent-decode.js'

/**
 * A FreeSWITCH event with URL-decoded header values. `subclass` is Event-Subclass (modesl
 * emits CUSTOM events under the Unique-ID and drops the subclass; we key on it).
 */
export interface EslEvent {
  readonly name: string
  readonly subclass: string | undefined
  /** Header name → decoded value. With duplicates the first wins (Event-Subclass comes first). */
  readonly headers: ReadonlyMap<string, string>
  /** Values as received (URL-encoded when `urlEncoded`), for readers that must refuse invalid UTF-8. */
  readonly rawHeaders: ReadonlyMap<string, string>
  /** true for plain events (values were URL-encoded on the wire), false for json. */
  readonly urlEncoded: boolean
  readonly body: string | undefined
}

export type ParsedEvent = { readonly ok: true; readonly event: EslEvent } | { readonly ok: false; readonly reason: string }

/**
 * Parses the body of a `text/event-plain` or `text/event-json` frame.
 * plain: a header block with URL-encoded values, then (when the last Content-Length header says
 * so) a body of that many bytes — `sendevent` with a body yields Content-Length twice (in-08).
 * json: every value is a string; the body is under `_body`. xml is not parsed (we never ask for it).
 */
export function parseEventFrame(frame: EslFrame): ParsedEvent {
  const type = frame.contentType
  const body = frame.body ?? Buffer.alloc(0)
  if (type === 'text/event-plain') return parsePlain(body)
  if (type === 'text/event-json') return parseJson(body)
  return { ok: false, reason: `unsupported event content type ${JSON.stringify(type ?? '')}` }
}

function parsePlain(body: Buffer): ParsedEvent {
  const end = indexOfBlankLine(body)
  const headerText = body.toString('utf8', 0, end < 0 ? body.length : end)
  const headers = parseHeaderBlock(headerText)
  if (!Array.isArray(headers)) return { ok: false, reason: headers.message }
  let inner: string | undefined
  const lengths = headers.filter(([name]) => name.toLowerCase() === 'content-length')
  const last = lengths[lengths.length - 1]
  if (last !== undefined && end >= 0) {
    const length = /^\d{1,10}$/.test(last[1]) ? Number(last[1]) : -1
    if (length < 0 || end + 2 + length > body.length) return { ok: false, reason: 'bad inner Content-Length' }
    inner = body.toString('utf8', end + 2, end + 2 + length)
  }
  return { ok: true, event: toEvent(headers, inner, true) }
}

function parseJson(body: Buffer): ParsedEvent {
  let data: unknown
  try {
    data = JSON.parse(body.toString('utf8'))
  } catch (err) {
    return { ok: false, reason: `invalid JSON event: ${err instanceof Error ? err.message : String(err)}` }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, reason: 'JSON event is not an object' }
  const headers: EslHeader[] = []
  let inner: string | undefined
  for (const [name, value] of Object.entries(data)) {
    if (typeof value !== 'string') continue
    if (name === '_body') inner = value
    else headers.push([name, value])
  }
  return { ok: true, event: toEvent(headers, inner, false) }
}

function toEvent(headers: readonly EslHeader[], body: string | undefined, encoded: boolean): EslEvent {
  const decoded = new Map<string, string>()
  const raw = new Map<string, string>()
  for (const [name, value] of headers) {
    if (decoded.has(name)) continue
    raw.set(name, value)
    decoded.set(name, encoded ? percentDecode(value) : value)
  }
  return {
    name: decoded.get('Event-Name') ?? '',
    subclass: decoded.get('Event-Subclass'),
    headers: decoded,
    rawHeaders: raw,
    urlEncoded: encoded,
    body,
  }
}

function indexOfBlankLine(buf: Buffer): number {
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] === 0x0a && buf[i + 1] === 0x0a) return i
  }
  return -1
}
