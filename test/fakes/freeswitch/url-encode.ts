/**
 * FreeSWITCH's URL encoding of event header values (switch_url_encode, as used by
 * switch_event_serialize): each byte below 0x20 or above 0x7E, or in SWITCH_URL_UNSAFE
 * ("\r\n #%&+:;<=>?@[\]^`{|}\""), becomes %XX (upper-case hex) — except a `%` already followed by
 * two upper-case hex digits, which is left alone (no double encoding). Every captured value fits
 * (e.g. "Hello%20World", "%2BOK%0A", "tts_file%3D/tmp/y.wav", "Sun,%2022%20Nov").
 */
const UNSAFE = new Set(Buffer.from('\r\n #%&+:;<=>?@[\\]^`{|}"', 'latin1'))
const UPPER_HEX = /^[0-9A-F]$/

export function fsUrlEncode(value: string): string {
  const bytes = Buffer.from(value, 'utf8')
  let out = ''
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number
    if (
      byte === 0x25 &&
      i + 2 < bytes.length &&
      UPPER_HEX.test(String.fromCharCode(bytes[i + 1] as number)) &&
      UPPER_HEX.test(String.fromCharCode(bytes[i + 2] as number))
    ) {
      out += '%'
      continue
    }
    if (byte < 0x20 || byte > 0x7e || UNSAFE.has(byte)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
    else out += String.fromCharCode(byte)
  }
  return out
}
