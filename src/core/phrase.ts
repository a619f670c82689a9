import { AUDIO_FORMAT, SAMPLE_RATES, type AudioFormat } from './defaults.js'
import { TtsError } from './errors.js'

/**
 * What a caller asks for, before defaults and validation. Fields that arrive as text (query
 * strings, channel variables, CLI flags) stay text here: the core parses them
 * ({@link validateSampleRate}), so every transport accepts exactly the same strings.
 */
export interface PhraseInput {
  text: string
  voice?: string | undefined
  engine?: string | undefined
  sampleRate?: number | string | undefined
}

/**
 * A validated, normalised request: every field that changes the audio.
 * `voice` is '' when the engine's default voice is meant.
 */
export interface PhraseRequest {
  readonly text: string
  readonly voice: string
  readonly engine: string
  readonly sampleRate: number
  readonly format: AudioFormat
}

export interface PhraseDefaults {
  readonly engine: string
  readonly voice: string
  readonly sampleRate: number
  readonly maxTextChars: number
}

// C0 and C1 control characters plus DEL, except the whitespace ones we fold (TAB LF VT FF CR).
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F]/u
// Lone UTF-16 surrogates cannot be encoded to UTF-8 and would make the key ambiguous.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u
// Every Unicode whitespace run (incl. NEL, NBSP, line/paragraph separators) folds to one space.
const WHITESPACE_RUN = /\s+/gu

/**
 * Normalises caller text: NFC, trim, every whitespace run to one space.
 * Rejects control characters (other than whitespace), lone surrogates, empty results
 * and text longer than `maxChars` code points (counted after normalisation).
 */
export function normaliseText(text: unknown, maxChars: number): string {
  if (typeof text !== 'string') throw new TtsError('TTS_ERR_BAD_REQUEST', { args: ['text must be a string'] })
  // Check the length before the (linear, but not free) regex work so 100 MB inputs fail fast.
  if (text.length > maxChars * 4 + 1024) throw new TtsError('TTS_ERR_TEXT_TOO_LONG', { args: [maxChars] })
  if (LONE_SURROGATE.test(text)) throw new TtsError('TTS_ERR_TEXT_INVALID', { args: ['lone UTF-16 surrogate'] })
  const control = FORBIDDEN_CONTROL.exec(text)
  if (control) {
    const cp = control[0].codePointAt(0) ?? 0
    throw new TtsError('TTS_ERR_TEXT_INVALID', { args: [`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`] })
  }
  const normalised = text.normalize('NFC').replace(WHITESPACE_RUN, ' ').trim()
  if (normalised.length === 0) throw new TtsError('TTS_ERR_TEXT_EMPTY')
  let codePoints = 0
  for (const _ of normalised) {
    if (++codePoints > maxChars) throw new TtsError('TTS_ERR_TEXT_TOO_LONG', { args: [maxChars] })
  }
  return normalised
}

/**
 * Voice names are passed to engines as one argv element, and appear in file metadata.
 * Allowed: letters, digits and `_ . + -`, 1–64 characters, not starting with `-` or `.`
 * (so never an option, never `..`). espeak-ng variants (`en-us+f3`) and Cepstral names
 * (`Allison-8kHz`) fit.
 */
const VOICE_PATTERN = /^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,63}$/

export function validateVoice(voice: unknown): string {
  if (voice === undefined || voice === null || voice === '') return ''
  if (typeof voice !== 'string' || !VOICE_PATTERN.test(voice) || voice.includes('..')) {
    throw new TtsError('TTS_ERR_INVALID_VOICE', { args: [JSON.stringify(String(voice)).slice(0, 80)] })
  }
  return voice
}

/**
 * A whole number written as text — a query-string value, a channel variable, a CLI flag, a
 * phrase-list field: ASCII decimal digits in canonical form, at most 9 of them. No sign, no
 * leading zero (except "0" itself), no fraction (`8000.0`), exponent (`8e3`), hex, separators
 * (`8_000`), non-ASCII digits or surrounding spaces. HTTP and ESL read every numeric field of a
 * phrase request through this one function, so both accept exactly the same strings.
 * undefined when the text is not such a number.
 */
export function parseDecimalInteger(text: string): number | undefined {
  return DECIMAL_INTEGER.test(text) ? Number(text) : undefined
}
const DECIMAL_INTEGER = /^(?:0|[1-9][0-9]{0,8})$/

/**
 * The sample rate: a number (a JSON integer) or its text ({@link parseDecimalInteger}), one of
 * SAMPLE_RATES. Anything else — `"8000.0"`, `true`, `[8000]` — is TTS_ERR_INVALID_RATE.
 */
export function validateSampleRate(rate: unknown): number {
  const n = typeof rate === 'string' ? parseDecimalInteger(rate) : rate
  if (typeof n !== 'number' || !(SAMPLE_RATES as readonly number[]).includes(n)) {
    throw new TtsError('TTS_ERR_INVALID_RATE', { args: [shown(rate)] })
  }
  return n
}

/** A rejected value for a message: text as it is (cut), anything else as JSON (`[8000]`, `true`). */
function shown(value: unknown): string {
  return (typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))).slice(0, 24)
}

/** Engine ids: lower-case letters, digits and `-`, 1–32 characters (whether it is enabled is the catalog's question). */
const ENGINE_ID = /^[a-z0-9][a-z0-9-]{0,31}$/

export function validateEngineId(engine: unknown): string {
  if (typeof engine !== 'string' || !ENGINE_ID.test(engine)) {
    throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [typeof engine === 'string' ? engine.slice(0, 40) : shown(engine)] })
  }
  return engine
}

/**
 * A per-call deadline given as text (ESL `tts_cache_deadline_ms`): {@link parseDecimalInteger},
 * clamped to `maxMs`. `0` is a valid deadline (answer from the cache, do not wait for a render).
 * undefined when the text is not such a number (the caller applies its default and says so).
 */
export function parseDeadlineMs(text: string, maxMs: number): number | undefined {
  const ms = parseDecimalInteger(text)
  return ms === undefined ? undefined : Math.min(ms, maxMs)
}

/** Applies defaults and validates every field. Throws TtsError with a stable code. */
export function toPhraseRequest(input: PhraseInput, defaults: PhraseDefaults): PhraseRequest {
  const text = normaliseText(input.text, defaults.maxTextChars)
  const engine = validateEngineId(input.engine === undefined || input.engine === '' ? defaults.engine : input.engine)
  const voice = validateVoice(input.voice === undefined || input.voice === '' ? defaults.voice : input.voice)
  const sampleRate = validateSampleRate(input.sampleRate === undefined || input.sampleRate === '' ? defaults.sampleRate : input.sampleRate)
  return Object.freeze({ text, voice, engine, sampleRate, format: AUDIO_FORMAT })
}
