/** The `<key>.json` sidecar: EntryMeta as JSON, parsed strictly (a sidecar we cannot trust is no entry). */
import type { EntryMeta } from '../../core/ports/index.js'

export type SidecarParse = { readonly ok: true; readonly meta: EntryMeta } | { readonly ok: false; readonly reason: string }

/** Stable field order, so two writes of the same meta give the same bytes. */
export function encodeSidecar(meta: EntryMeta): string {
  return `${JSON.stringify({
    key: meta.key,
    text: meta.text,
    voice: meta.voice,
    engine: meta.engine,
    engineVersion: meta.engineVersion,
    sampleRate: meta.sampleRate,
    format: meta.format,
    bytes: meta.bytes,
    durationMs: meta.durationMs,
    createdAt: meta.createdAt,
    pinned: meta.pinned,
  })}\n`
}

const STRING_FIELDS = ['text', 'voice', 'engine', 'engineVersion', 'format'] as const
const COUNT_FIELDS = ['sampleRate', 'bytes', 'durationMs', 'createdAt'] as const

/**
 * Parses a sidecar and checks every field's type, and that it describes `expectedKey`
 * (a sidecar copied next to another key's WAV must not lend it its text).
 */
export function parseSidecar(json: string, expectedKey: string): SidecarParse {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch (err) {
    return { ok: false, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' }
  const record = value as Record<string, unknown>
  if (record['key'] !== expectedKey) return { ok: false, reason: 'key does not match the file name' }
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== 'string') return { ok: false, reason: `${field} is not a string` }
  }
  for (const field of COUNT_FIELDS) {
    const n = record[field]
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return { ok: false, reason: `${field} is not a count` }
  }
  if (typeof record['pinned'] !== 'boolean') return { ok: false, reason: 'pinned is not a boolean' }
  return { ok: true, meta: value as EntryMeta }
}
