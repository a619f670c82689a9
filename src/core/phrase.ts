import { AUDIO_FORMAT, SAMPLE_RATES, type AudioFormat } from './defaults.js'
import { TtsError } from './errors.js'

/** What a caller asks for, before defaults and validation. */
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

export function validateSampleRate(rate: unknown): number {
  const n = typeof rate === 'string' && /^\d{4,5}$/.test(rate) ? Number(rate) : rate
  if (typeof n !== 'number' || !(SAMPLE_RATES as readonly number[]).includes(n)) {
    throw new TtsError('TTS_ERR_INVALID_RATE', { args: [String(rate).slice(0, 20)] })
  }
  return n
}

/** Applies defaults and validates every field. Throws TtsError with a stable code. */
export function toPhraseRequest(input: PhraseInput, defaults: PhraseDefaults): PhraseRequest {
  const text = normaliseText(input.text, defaults.maxTextChars)
  const engine = input.engine === undefined || input.engine === '' ? defaults.engine : input.engine
  if (typeof engine !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(engine)) {
    throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [String(engine).slice(0, 40)] })
  }
  const voice = validateVoice(input.voice === undefined || input.voice === '' ? defaults.voice : input.voice)
  const sampleRate = validateSampleRate(input.sampleRate ?? defaults.sampleRate)
  return Object.freeze({ text, voice, engine, sampleRate, format: AUDIO_FORMAT })
}
