/**
 * The value types of the configuration schema (schema.ts): strict booleans, bounded integers,
 * byte sizes with units, argv templates, Redis and public URLs, host:port lists. Each carries
 * the message a user sees when a value is wrong (config-errors names the variable and value).
 */
import { z } from 'zod'

/** Strict booleans: only true/false/1/0/yes/no (so "false" is false, and "flase" is an error). */
export const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes'),
])

export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

export const port = int(0, 65535)

/** Byte sizes: an integer, or a number with a unit (KiB, MiB, GiB, KB, MB, GB; case-insensitive). */
export const byteSize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$/i.exec(value)
  if (m === null) {
    ctx.addIssue({ code: 'custom', message: `not a byte size: ${JSON.stringify(value)} (e.g. 1073741824 or 1GiB)` })
    return z.NEVER
  }
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 }
  return Math.floor(Number(m[1]) * (units[(m[2] ?? 'b').toLowerCase()] ?? 1))
})

/** TTS_COMMAND: a JSON array of argv strings, the first being the program. */
export const commandTemplate = z
  .union([z.array(z.string()), z.string()])
  .transform((value, ctx) => {
    if (Array.isArray(value)) return value
    try {
      const parsed: unknown = JSON.parse(value)
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[]
    } catch {
      // fall through to the issue below: the message names what was expected
    }
    ctx.addIssue({ code: 'custom', message: 'must be a JSON array of strings, e.g. ["/opt/bin/my-tts","--out","{out}"]' })
    return z.NEVER
  })
  .pipe(
    z
      .array(z.string().min(1).refine((s) => !/[\r\n\0]/.test(s), 'argv elements may not contain CR, LF or NUL'))
      .min(1, 'needs at least the program')
      .refine((argv) => argv.some((a) => a.includes('{out}')), 'must contain the {out} placeholder'),
  )

export const optionalString = z.string().min(1).optional()

/** REDIS_URL / TTS_AUDIO_REDIS_URL: a redis:// or rediss:// URL with a host (a bare host name used to pass and fail at connect). */
export const redisUrl = z.string().refine((value) => {
  const url = URL.parse(value)
  return url !== null && (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== ''
}, 'must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379 or rediss://user:password@redis.example:6380/0')

/**
 * TTS_PUBLIC_URL: the base of every URL the API hands out (`url` fields), so an absolute http(s)
 * URL and nothing a client should not see or follow: no user, password, query or fragment.
 */
export const publicBaseUrl = z.url({ protocol: /^https?$/ }).refine((value) => {
  const url = URL.parse(value)
  return url !== null && url.username === '' && url.password === '' && url.search === '' && url.hash === ''
}, 'must be an http(s) base URL without user, password, query or fragment, e.g. https://tts.example.com/')

/** TTS_HTTP_ACCEL_REDIRECT: the front's internal location for the cache directory (deploy/nginx/). */
export const accelPrefix = z.string().regex(/^\/(?:[A-Za-z0-9_-]+\/)+$/, 'must be a URI path of letters, digits, _ and - segments starting and ending with /, e.g. /_tts_cache/')

/**
 * Redis Sentinel / Cluster nodes: `host:port` items, comma-separated in the environment
 * (`10.0.0.1:26379,10.0.0.2:26379`; IPv6 as `[::1]:26379`), or a JSON array of such strings.
 */
export const hostPortList = z
  .union([z.array(z.string()), z.string()])
  .transform((value, ctx) => {
    const items = (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter((item) => item !== '')
    const nodes: { host: string; port: number }[] = []
    for (const item of items) {
      const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(item)
      const port = Number(m?.[3])
      const host = m?.[1] ?? m?.[2]
      if (host === undefined || !(port >= 1 && port <= 65535)) {
        ctx.addIssue({ code: 'custom', message: `not host:port: ${JSON.stringify(item)} (e.g. 10.0.0.1:26379 or [::1]:26379)` })
        return z.NEVER
      }
      nodes.push({ host, port })
    }
    if (nodes.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs at least one host:port' })
      return z.NEVER
    }
    return nodes
  })
