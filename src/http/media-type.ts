/**
 * Content-Type parsing for the request guard (RFC 9110 §8.3.1): `type/subtype` and its
 * parameters, names case-insensitive, values a token or a quoted string. Only what the guard
 * needs: the media type and the charset.
 */

export interface MediaType {
  /** `type/subtype`, lower-cased. */
  readonly type: string
  /** The `charset` parameter, lower-cased and unquoted; undefined when absent. */
  readonly charset: string | undefined
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Parses a Content-Type header; undefined when there is none or it has no `type/subtype`. */
export function parseMediaType(header: string | undefined): MediaType | undefined {
  if (header === undefined) return undefined
  const semi = header.indexOf(';')
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase()
  const slash = type.indexOf('/')
  if (slash <= 0 || !TOKEN.test(type.slice(0, slash)) || !TOKEN.test(type.slice(slash + 1))) return undefined
  let charset: string | undefined
  let rest = semi === -1 ? '' : header.slice(semi + 1)
  while (rest.length > 0) {
    const eq = rest.indexOf('=')
    if (eq === -1) break
    const name = rest.slice(0, eq).trim().toLowerCase()
    rest = rest.slice(eq + 1).trimStart()
    let value: string
    if (rest.startsWith('"')) {
      // quoted-string: backslash escapes one character.
      let i = 1
      value = ''
      for (; i < rest.length && rest[i] !== '"'; i++) value += rest[i] === '\\' ? (rest[++i] ?? '') : rest[i]
      rest = rest.slice(i + 1)
      const next = rest.indexOf(';')
      rest = next === -1 ? '' : rest.slice(next + 1)
    } else {
      const next = rest.indexOf(';')
      value = (next === -1 ? rest : rest.slice(0, next)).trim()
      rest = next === -1 ? '' : rest.slice(next + 1)
    }
    if (name === 'charset') {
      charset = value.toLowerCase()
      break
    }
  }
  return { type, charset }
}

/** True when a declared charset is UTF-8 (or none is declared: UTF-8 is what the API reads). */
export function isUtf8Charset(charset: string | undefined): boolean {
  return charset === undefined || charset === 'utf-8'
}
