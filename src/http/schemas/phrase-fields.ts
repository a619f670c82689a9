/**
 * The fields of a phrase, shared by the /v1/tts and /v1/prewarm schemas. In a JSON body `rate`
 * is an integer; in a query string it is text, which the core parses (src/core/phrase.ts) as it
 * parses ESL's `tts_cache_rate`.
 */
import { SAMPLE_RATES } from '../../core/defaults.js'

export const textField = {
  type: 'string',
  description: 'The phrase. Normalised (NFC, whitespace folded); at most TTS_MAX_TEXT_CHARS code points; no control characters',
} as const
export const voiceField = {
  type: 'string',
  description: "Engine voice (letters, digits, _ . + -). Empty or absent: the configured default (TTS_VOICE)",
} as const
export const engineField = {
  type: 'string',
  description: 'Engine id, one of the engines enabled on this node (`tts-cache doctor` lists them). Absent: TTS_ENGINE',
} as const
export const rateField = {
  type: 'integer',
  description: `Sample rate in Hz, one of ${SAMPLE_RATES.join(', ')} (a JSON integer, not a string). Absent: TTS_SAMPLE_RATE`,
} as const
/** `rate` in a query string: text, parsed by the core (src/core/phrase.ts) as ESL's tts_cache_rate is. */
export const rateQueryField = {
  type: 'string',
  description:
    `Sample rate in Hz, one of ${SAMPLE_RATES.join(', ')}, as decimal digits only (no sign, leading zero, fraction or exponent: ` +
    '8000.0, +8000, 08000 and 8e3 are refused with TTS_ERR_INVALID_RATE). Absent: TTS_SAMPLE_RATE',
} as const
