import { TtsError } from '../core/errors.js'
import type { PhraseInput } from '../core/phrase.js'
import type { ChannelData } from './channel-data.js'

const DEADLINE_VALUE = /^\d{1,9}$/

/**
 * The call's deadline: tts_cache_deadline_ms when it is a whole number (clamped to `maxMs`),
 * else `defaultMs`. `invalid` carries a rejected value (truncated) for the log.
 */
export function deadlineFor(data: ChannelData, defaultMs: number, maxMs: number): { ms: number; invalid: string | null | undefined } {
  const raw = data.variable('tts_cache_deadline_ms')
  if (raw === undefined || raw === '') return { ms: defaultMs, invalid: undefined }
  if (raw === null || !DEADLINE_VALUE.test(raw)) return { ms: defaultMs, invalid: raw === null ? null : raw.slice(0, 20) }
  return { ms: Math.min(Number(raw), maxMs), invalid: undefined }
}

/** The phrase request from channel variables; a TtsError when tts_text is missing or not UTF-8. */
export function readInput(data: ChannelData): PhraseInput | TtsError {
  const text = data.variable('tts_text')
  if (text === undefined) return new TtsError('TTS_ERR_BAD_REQUEST', { args: ['tts_text is not set on the channel'] })
  const fields = { text, voice: data.variable('tts_voice'), engine: data.variable('tts_engine'), sampleRate: data.variable('tts_rate') }
  for (const [name, value] of Object.entries(fields)) {
    if (value === null) return new TtsError('TTS_ERR_BAD_REQUEST', { args: [`channel variable for ${name} is not valid UTF-8`] })
  }
  const optional = (value: string | null | undefined): string | undefined => (value === null || value === '' ? undefined : value)
  return { text: text ?? '', voice: optional(fields.voice), engine: optional(fields.engine), sampleRate: optional(fields.sampleRate) }
}
