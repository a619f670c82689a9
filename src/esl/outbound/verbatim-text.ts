import { TtsError, toTtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import { HOOK_VARIABLES, type ChannelData } from '../codec/channel-data.js'
import { getvarCommand, uuidGetvarCommand } from '../codec/command.js'
import { decodeUtf8Strict } from '../codec/percent-decode.js'
import type { EslConnection } from '../connection/connection.js'

/**
 * tts_cache_text exactly as the channel holds it: `api uuid_getvar` (body, any bytes) with
 * `full`, else `getvar` (Reply-Text). One more round trip, taken only when the CHANNEL_DATA
 * value has a `%` (see textNeedsVerbatimRead). The reply waits at most `timeoutMs`.
 *
 * Returns the error instead of throwing: a failed read (timeout, closed), bytes that are not
 * UTF-8, or FreeSWITCH's `_undef_` / `-ERR` / `-USAGE` answers (TTS_ERR_BAD_REQUEST).
 */
export async function readVerbatimText(connection: EslConnection, data: ChannelData, timeoutMs: number, log: Logger): Promise<string | TtsError> {
  const viaApi = data.control === 'full' && data.uuid !== undefined
  const command = viaApi ? uuidGetvarCommand(data.uuid as string, HOOK_VARIABLES.text) : getvarCommand(HOOK_VARIABLES.text)
  let value: Buffer | string
  try {
    const reply = await connection.send(command, timeoutMs)
    value = viaApi ? (reply.body ?? Buffer.alloc(0)) : (reply.header('Reply-Text') ?? '')
  } catch (err) {
    const error = toTtsError(err)
    log.debug({ err: error }, 'reading tts_cache_text verbatim failed')
    return error
  }
  const text = typeof value === 'string' ? value : decodeUtf8Strict(value)
  if (text === undefined) return new TtsError('TTS_ERR_BAD_REQUEST', { args: [`${HOOK_VARIABLES.text} is not valid UTF-8`] })
  if (text === '_undef_' || /^-(ERR|USAGE)[ :]/.test(text)) {
    return new TtsError('TTS_ERR_BAD_REQUEST', { args: [`${HOOK_VARIABLES.text} could not be read back (${JSON.stringify(text.slice(0, 40))})`] })
  }
  return text
}
