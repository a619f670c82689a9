import { headerQuery, type EslFrame } from './frame.js'
import { isChannelUuid } from './command.js'
import { percentDecode, percentDecodeStrict } from './percent-decode.js'

/** `Control:` of the CHANNEL_DATA reply: `full` when the dialplan wrote `socket(... full)`. */
export type SocketControl = 'full' | 'single-channel'

/**
 * The outbound `connect` reply: FreeSWITCH's CHANNEL_DATA event as one header block, values
 * URL-encoded (captured in every outbound/*.fs2peer.raw).
 */
export interface ChannelData {
  /** `Unique-ID`, when it is a well-formed UUID (it goes into `api uuid_setvar`). */
  readonly uuid: string | undefined
  /** undefined when the header is absent or unknown: the mode is then probed with `api`. */
  readonly control: SocketControl | undefined
  readonly socketMode: 'static' | 'async' | undefined
  /**
   * A channel variable (`variable_<name>`), URL-decoded. `undefined` when unset; `null` when
   * present but not valid UTF-8 after decoding (malformed channel data: refused, not guessed).
   */
  variable(name: string): string | undefined | null
  /** The same variable as it came on the wire (URL-encoded), undefined when unset. */
  rawVariable(name: string): string | undefined
}

export type ParsedChannelData = { readonly ok: true; readonly data: ChannelData } | { readonly ok: false; readonly reason: string }

/**
 * The channel variables the hook reads (call-input.ts), fetched with the headers in one pass.
 * All are namespaced `tts_cache_*`: FreeSWITCH's own `say:`/`speak` read `tts_engine` and
 * `tts_voice`, so sharing those names would change which engine FreeSWITCH speaks the fallback
 * with (and which one the cache renders with). The CUSTOM pre-warm event uses the same names.
 */
export const HOOK_VARIABLES = Object.freeze({
  text: 'tts_cache_text',
  voice: 'tts_cache_voice',
  engine: 'tts_cache_engine',
  rate: 'tts_cache_rate',
  deadline: 'tts_cache_deadline_ms',
} as const)
const HOOK_NAMES: readonly string[] = Object.values(HOOK_VARIABLES)
const NAMES = headerQuery(['Reply-Text', 'Event-Name', 'Unique-ID', 'Control', 'Socket-Mode', ...HOOK_NAMES.map((v) => `variable_${v}`)])

export function parseChannelData(frame: EslFrame): ParsedChannelData {
  const [replyText, eventName, uniqueId, control, mode, ...hookValues] = frame.headersNamed(NAMES)
  const reply = percentDecode(replyText ?? '')
  if (frame.contentType !== 'command/reply' || !reply.startsWith('+OK')) {
    return { ok: false, reason: `connect was not accepted (${JSON.stringify(reply.slice(0, 60))})` }
  }
  if (eventName !== undefined && eventName !== 'CHANNEL_DATA') {
    return { ok: false, reason: `unexpected connect reply event ${JSON.stringify(eventName.slice(0, 40))}` }
  }
  const rawUuid = percentDecode(uniqueId ?? '')
  const raw = (name: string): string | undefined => {
    const known = HOOK_NAMES.indexOf(name)
    return known >= 0 ? hookValues[known] : frame.header(`variable_${name}`)
  }
  const decode = (value: string | undefined): string | undefined | null => (value === undefined ? undefined : (percentDecodeStrict(value) ?? null))
  return {
    ok: true,
    data: {
      uuid: isChannelUuid(rawUuid) ? rawUuid : undefined,
      control: control === 'full' || control === 'single-channel' ? control : undefined,
      socketMode: mode === 'static' || mode === 'async' ? mode : undefined,
      variable(name: string): string | undefined | null {
        return decode(raw(name))
      },
      rawVariable: raw,
    },
  }
}
