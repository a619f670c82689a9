const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false })

/**
 * Decodes FreeSWITCH's URL encoding (switch_url_encode: `%XX` per byte, UTF-8 text).
 * Unlike decodeURIComponent (what modesl uses), it never throws: a `%` not followed by two
 * hex digits stays a literal `%` (FreeSWITCH does not encode `%XX` that already looks
 * encoded, and replies such as `getvar` are not encoded at all).
 * Invalid UTF-8 becomes U+FFFD; use {@link percentDecodeStrict} where that must be refused.
 */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return value
  return lenientUtf8.decode(percentBytes(value))
}

/**
 * Like {@link percentDecode}, but returns undefined when the bytes are not valid UTF-8: either
 * the `%XX` bytes, or the raw bytes of the value itself. The frame parser decodes a header value
 * leniently, so raw bytes that were not UTF-8 reach here as U+FFFD; FreeSWITCH URL-encodes every
 * byte above 0x7E (switch_url_encode), so a raw (not `%XX`-encoded) U+FFFD in a URL-encoded value
 * can only be bytes that were not UTF-8 on the wire, and the value is refused. A U+FFFD the
 * channel really holds arrives encoded (`%EF%BF%BD`) and is kept.
 */
export function percentDecodeStrict(value: string): string | undefined {
  if (value.includes('\uFFFD')) return undefined
  if (!value.includes('%')) return value
  return decodeUtf8Strict(percentBytes(value))
}

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return fatalUtf8.decode(bytes)
  } catch {
    // Not valid UTF-8: the caller refuses the value (the reason is logged there).
    return undefined
  }
}

/** Hex digit value by char code, -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) HEX_VALUE[0x30 + i] = i
for (let i = 0; i < 6; i++) {
  HEX_VALUE[0x41 + i] = 10 + i
  HEX_VALUE[0x61 + i] = 10 + i
}

function hexValue(code: number | undefined): number {
  return code === undefined || code >= 128 ? -1 : (HEX_VALUE[code] as number)
}

/** `%XX` → byte; everything else (a bare `%` included) stays as its UTF-8 bytes. */
function percentBytes(value: string): Uint8Array {
  const src = Buffer.from(value, 'utf8')
  const out = Buffer.allocUnsafe(src.length)
  let o = 0
  for (let i = 0; i < src.length; i++) {
    const byte = src[i] as number
    if (byte === 0x25 && i + 2 < src.length) {
      const high = hexValue(src[i + 1])
      const low = hexValue(src[i + 2])
      if (high >= 0 && low >= 0) {
        out[o++] = (high << 4) | low
        i += 2
        continue
      }
    }
    out[o++] = byte
  }
  return out.subarray(0, o)
}
