import type { PhraseInput } from './phrase.js'

/** One pre-warm item: a phrase plus whether to pin it. */
export interface PrewarmItem extends PhraseInput {
  readonly pin?: boolean | undefined
}

/** A line that could not be read as an item (its 1-based line number and why). */
export interface PrewarmLineError {
  readonly line: number
  readonly message: string
}

/**
 * Parses a phrase list: one phrase per line, or JSON lines `{"text", "voice", "engine",
 * "rate", "pin"}` (a line starting with `{` is JSON). Blank lines and lines starting with `#`
 * are skipped. `defaults` fill fields a line leaves out. Items keep their line numbers.
 */
export function parsePrewarmLines(
  content: string,
  defaults: Omit<PrewarmItem, 'text'> = {},
): { items: { line: number; item: PrewarmItem }[]; errors: PrewarmLineError[] } {
  const items: { line: number; item: PrewarmItem }[] = []
  const errors: PrewarmLineError[] = []
  const lines = content.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ''
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    if (!trimmed.startsWith('{')) {
      items.push({ line: i + 1, item: { ...defaults, text: raw } })
      continue
    }
    try {
      const value: unknown = JSON.parse(trimmed)
      if (value === null || typeof value !== 'object' || typeof (value as { text?: unknown }).text !== 'string') {
        errors.push({ line: i + 1, message: 'JSON line needs a string "text"' })
        continue
      }
      const v = value as { text: string; voice?: unknown; engine?: unknown; rate?: unknown; sampleRate?: unknown; pin?: unknown }
      items.push({
        line: i + 1,
        item: {
          ...defaults,
          text: v.text,
          ...(typeof v.voice === 'string' ? { voice: v.voice } : {}),
          ...(typeof v.engine === 'string' ? { engine: v.engine } : {}),
          ...(typeof (v.rate ?? v.sampleRate) === 'number' || typeof (v.rate ?? v.sampleRate) === 'string'
            ? { sampleRate: (v.rate ?? v.sampleRate) as number | string }
            : {}),
          ...(typeof v.pin === 'boolean' ? { pin: v.pin } : {}),
        },
      })
    } catch (error) {
      errors.push({ line: i + 1, message: `invalid JSON: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
  return { items, errors }
}
