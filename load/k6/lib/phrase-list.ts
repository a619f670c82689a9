/**
 * The one phrase-list format, read by `tts-cache prewarm <file>`, `POST /v1/prewarm` with a
 * text/plain body and the k6 scripts (load/k6/lib/phrase-list.ts is a byte-for-byte copy, checked by
 * test/load/k6-phrase-list.test.ts, so load/k6 stays self-contained: keep it pure — no
 * imports at all, no Node APIs).
 *
 * - one phrase per line (the line as written, leading/trailing spaces kept);
 * - blank lines and lines whose first non-blank character is `#` are skipped;
 * - a line whose first non-blank character is `{` is JSON: `{"text", "voice", "engine", "rate",
 *   "pin"}` (text required; unknown fields and wrong types are line errors, with a suggestion).
 *
 * `defaults` fill the fields a line leaves out (the CLI's flags, the HTTP query string).
 * Items keep their 1-based line numbers.
 */

/** One phrase of a list: what a pre-warm item is (a phrase plus whether to pin it). */
export interface PhraseListItem {
  text: string
  voice?: string | undefined
  engine?: string | undefined
  /** As written (a number in JSON, or text such as "8000"); the service parses it. */
  sampleRate?: number | string | undefined
  pin?: boolean | undefined
}

/** A line that could not be read as an item (its 1-based line number and why). */
export interface PhraseListError {
  readonly line: number
  readonly message: string
}

export interface PhraseList {
  readonly items: { line: number; item: PhraseListItem }[]
  readonly errors: PhraseListError[]
}

/** The fields a JSON line may carry (`sampleRate` is accepted as another name for `rate`). */
export const PHRASE_LINE_FIELDS: readonly string[] = ['text', 'voice', 'engine', 'rate', 'sampleRate', 'pin']

export function parsePhraseList(content: string, defaults: Omit<PhraseListItem, 'text'> = {}): PhraseList {
  const items: { line: number; item: PhraseListItem }[] = []
  const errors: PhraseListError[] = []
  const lines = content.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ''
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    if (!trimmed.startsWith('{')) {
      items.push({ line: i + 1, item: { ...defaults, text: raw } })
      continue
    }
    const parsed = jsonLine(trimmed)
    if (typeof parsed === 'string') errors.push({ line: i + 1, message: parsed })
    else items.push({ line: i + 1, item: { ...defaults, ...parsed } })
  }
  return { items, errors }
}

/** A JSON line as an item, or why it is not one. */
function jsonLine(line: string): PhraseListItem | string {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    return `invalid JSON: ${error instanceof Error ? error.message : String(error)}`
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'a JSON line must be an object {"text": …}'
  const v = value as Record<string, unknown>
  const unknown = Object.keys(v).filter((k) => !PHRASE_LINE_FIELDS.includes(k))
  if (unknown.length > 0) return unknown.map((k) => unknownName('field', k, PHRASE_LINE_FIELDS)).join('; ')
  if (typeof v['text'] !== 'string') return 'a JSON line needs a string "text"'
  for (const key of ['voice', 'engine'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'string') return `"${key}" must be a string`
  }
  const rate = v['rate'] ?? v['sampleRate']
  if (rate !== undefined && typeof rate !== 'number' && typeof rate !== 'string') return '"rate" must be a number'
  if (v['pin'] !== undefined && typeof v['pin'] !== 'boolean') return '"pin" must be true or false'
  return {
    text: v['text'],
    ...(typeof v['voice'] === 'string' ? { voice: v['voice'] } : {}),
    ...(typeof v['engine'] === 'string' ? { engine: v['engine'] } : {}),
    ...(rate === undefined ? {} : { sampleRate: rate }),
    ...(typeof v['pin'] === 'boolean' ? { pin: v['pin'] } : {}),
  }
}

/** `unknown field "pinn" (did you mean "pin"?)`, or the list of known names when none is close. */
export function unknownName(what: string, name: string, known: readonly string[]): string {
  const near = closestName(name, known)
  return near === undefined ? `unknown ${what} "${name}" (known: ${known.join(', ')})` : `unknown ${what} "${name}" (did you mean "${near}"?)`
}

/** The known name nearest to `name` (edit distance at most 2, or a case-insensitive match), if any. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.min(2, Math.max(1, Math.floor(name.length / 2))) ? best : undefined
}

/** Levenshtein distance between two short names (also what config/suggest.ts ranks env names by). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
