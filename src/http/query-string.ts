/**
 * A strict query-string parser. Fastify's default decoder keeps a component it cannot decode
 * as the raw `%xx` text, so `text=a%ED%A0%80` (a UTF-16 surrogate, invalid in UTF-8) would be
 * spoken as "a percent E D…". Here such a component is recorded instead, and the request is
 * refused with a typed error (see `invalidQueryParameter`).
 */

/** Where the parser records the first parameter that was not valid percent-encoded UTF-8. */
const INVALID = Symbol('invalid-query-parameter')

type Query = Record<string, string | string[]> & { [INVALID]?: string }

function decode(component: string): string | undefined {
  const spaced = component.includes('+') ? component.replace(/\+/g, ' ') : component
  if (!spaced.includes('%')) return spaced
  try {
    return decodeURIComponent(spaced)
  } catch {
    // Malformed escape or invalid UTF-8 (e.g. an encoded lone surrogate): the caller reports it.
    return undefined
  }
}

/** Parses `a=1&b=2&a=3` into `{a: ['1', '3'], b: '2'}` (null prototype; `+` is a space). */
export function parseQueryString(qs: string): Record<string, unknown> {
  const out = Object.create(null) as Query
  if (qs.length === 0) return out
  for (const part of qs.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const rawKey = eq === -1 ? part : part.slice(0, eq)
    const key = decode(rawKey)
    const value = decode(eq === -1 ? '' : part.slice(eq + 1))
    if (key === undefined || value === undefined) {
      out[INVALID] ??= key ?? rawKey.slice(0, 40)
      continue
    }
    const prev = out[key]
    if (prev === undefined) out[key] = value
    else if (Array.isArray(prev)) prev.push(value)
    else out[key] = [prev, value]
  }
  return out
}

/** The name of the first parameter whose name or value could not be decoded, if any. */
export function invalidQueryParameter(query: unknown): string | undefined {
  return typeof query === 'object' && query !== null ? (query as Query)[INVALID] : undefined
}
