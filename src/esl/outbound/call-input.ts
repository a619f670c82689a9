import { TtsError, toTtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { parseDeadlineMs, type PhraseInput } from '../../core/phrase.js'
import type { ResolvedPhrase } from '../../core/tts-service.js'
import { HOOK_VARIABLES, type ChannelData } from '../codec/channel-data.js'
import type { EslTtsService } from '../ports.js'

/**
 * How the shipped phrase macro wraps the text: `execute set(tts_cache_text=<guard>$1<end>` (no
 * closing parenthesis). FreeSWITCH cuts `execute` data at the first `)` that closes the
 * application's `(`; the guard's sixteen `(` keep up to fifteen unmatched `)` of the text inside,
 * and leaving the closing `)` out keeps an unmatched `(` from pulling it into the value. The end
 * marker proves nothing was cut, and says whether the text has a `%`:
 *
 * - {@link MACRO_END_EXACT}: no `%` in the text, so every `%XX` in CHANNEL_DATA is FreeSWITCH's
 *   own encoding and decoding it is exact (no extra round trip);
 * - {@link MACRO_END_VERBATIM}: the text has a `%`; FreeSWITCH leaves a `%XX` already in a value
 *   unencoded, so the service reads the value back verbatim (getvar).
 *
 * Markers use only characters FreeSWITCH never encodes, so they are plain on the wire. A value
 * without the guard (set directly in a dialplan) is taken as it is.
 */
export const MACRO_TEXT_GUARD = '('.repeat(16)
export const MACRO_END_EXACT = '~tts_cache_end'
export const MACRO_END_VERBATIM = '~tts_cache_getvar'

/**
 * The call's deadline: tts_cache_deadline_ms when it is a whole number of ms in the core's one
 * syntax (parseDeadlineMs: canonical decimal digits, as HTTP reads numbers), clamped to `maxMs`;
 * else `defaultMs`. `invalid` carries a rejected value (truncated) for the log.
 */
export function deadlineFor(data: ChannelData, defaultMs: number, maxMs: number): { ms: number; invalid: string | null | undefined } {
  const raw = data.variable(HOOK_VARIABLES.deadline)
  if (raw === undefined || raw === '') return { ms: defaultMs, invalid: undefined }
  const ms = raw === null ? undefined : parseDeadlineMs(raw, maxMs)
  if (ms === undefined) return { ms: defaultMs, invalid: raw === null ? null : raw.slice(0, 20) }
  return { ms, invalid: undefined }
}

/**
 * true when the text must be read back verbatim (getvar) instead of decoded from CHANNEL_DATA:
 * FreeSWITCH URL-encodes it there but leaves a `%XX` already in the text as it is, so a `%` on
 * the wire is ambiguous (`%41` may be `A` or the three characters `%41`) unless the macro's
 * marker says the text has no `%` at all.
 */
export function textNeedsVerbatimRead(data: ChannelData): boolean {
  const raw = data.rawVariable(HOOK_VARIABLES.text)
  if (raw === undefined || !raw.includes('%')) return false
  return !(raw.startsWith(MACRO_TEXT_GUARD) && raw.endsWith(MACRO_END_EXACT))
}

/**
 * The phrase request from channel variables; a TtsError when tts_cache_text is missing, not
 * UTF-8, or was cut by FreeSWITCH. `verbatimText` is the text as getvar returned it.
 */
export function readInput(data: ChannelData, verbatimText?: string): PhraseInput | TtsError {
  const text = verbatimText ?? data.variable(HOOK_VARIABLES.text)
  if (text === undefined) return new TtsError('TTS_ERR_BAD_REQUEST', { args: [`${HOOK_VARIABLES.text} is not set on the channel`] })
  const fields = { text, voice: data.variable(HOOK_VARIABLES.voice), engine: data.variable(HOOK_VARIABLES.engine), sampleRate: data.variable(HOOK_VARIABLES.rate) }
  for (const [name, value] of Object.entries(fields)) {
    if (value === null) return new TtsError('TTS_ERR_BAD_REQUEST', { args: [`channel variable for ${name} is not valid UTF-8`] })
  }
  const unwrapped = unwrapMacroText(text ?? '')
  if (unwrapped instanceof TtsError) return unwrapped
  const optional = (value: string | null | undefined): string | undefined => (value === null || value === '' ? undefined : value)
  return { text: unwrapped, voice: optional(fields.voice), engine: optional(fields.engine), sampleRate: optional(fields.sampleRate) }
}

/** Removes the macro's guard and end marker (see {@link MACRO_TEXT_GUARD}). */
export function unwrapMacroText(value: string): string | TtsError {
  if (!value.startsWith(MACRO_TEXT_GUARD)) return value
  for (const end of [MACRO_END_EXACT, MACRO_END_VERBATIM]) {
    if (value.endsWith(end)) return value.slice(MACRO_TEXT_GUARD.length, value.length - end.length)
  }
  return new TtsError('TTS_ERR_BAD_REQUEST', {
    args: [`${HOOK_VARIABLES.text} was cut short by FreeSWITCH (more than 15 unmatched ')' in the phrase text)`],
  })
}

/** What the shipped macro writes into tts_cache_text for `text` (its two branches). */
export function wrapMacroText(text: string): string {
  return MACRO_TEXT_GUARD + text + (text.includes('%') ? MACRO_END_VERBATIM : MACRO_END_EXACT)
}

/**
 * The phrase's key and request, or undefined when the input is invalid: `get` then says why
 * (and counts the failure as it counts every other).
 */
export function resolveInput(service: Pick<EslTtsService, 'resolve'>, input: PhraseInput, log: Logger): ResolvedPhrase | undefined {
  try {
    return service.resolve(input)
  } catch (err) {
    log.debug({ code: toTtsError(err).code }, 'no cache key for an invalid request')
    return undefined
  }
}
