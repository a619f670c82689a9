const HEX = /^[0-9A-Fa-f]{2}$/
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

/** Like {@link percentDecode}, but returns undefined when the bytes are not valid UTF-8. */
export function percentDecodeStrict(value: string): string | undefined {
  if (!value.includes('%')) return value
  try {
    return fatalUtf8.decode(percentBytes(value))
  } catch {
    // Not valid UTF-8: the caller refuses the value (the reason is logged there).
    return undefined
  }
}

function percentBytes(value: string): Uint8Array {
  const src = Buffer.from(value, 'utf8')
  const out = Buffer.allocUnsafe(src.length)
  let o = 0
  for (let i = 0; i < src.length; i++) {
    const byte = src[i] as number
    const pair = byte === 0x25 && i + 2 < src.length ? String.fromCharCode(src[i + 1] as number, src[i + 2] as number) : ''
    if (pair !== '' && HEX.test(pair)) {
      out[o++] = Number.parseInt(pair, 16)
      i += 2
    } else {
      out[o++] = byte
    }
  }
  return out.subarray(0, o)
}
