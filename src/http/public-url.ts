import type { FastifyRequest } from 'fastify'

// hostname[:port] as RFC 3986 allows it in a URL we hand out: a DNS name (letters, digits,
// hyphens, dots; labels 1–63), an IPv4 address, or an IPv6 address in brackets; an optional
// port 1–65535. No userinfo, path, quotes, spaces or markup.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const NAME = `${LABEL}(?:\\.${LABEL})*\\.?`
const IPV6 = '\\[[0-9A-Fa-f:.]{2,45}\\]'
const HOST = new RegExp(`^(?:${NAME}|${IPV6})(?::([0-9]{1,5}))?$`)

/** The last host found valid: clients send the same Host on every request (a string compare, not the regex, per hit). */
let lastValidHost = ''

/** True when `host` (a Host or X-Forwarded-Host value) is `hostname[:port]` and nothing else. */
export function isValidHost(host: string): boolean {
  if (host === lastValidHost) return true
  if (host.length > 261) return false
  const m = HOST.exec(host)
  if (m === null) return false
  const port = m[1]
  const valid = port === undefined || (Number(port) >= 1 && Number(port) <= 65535 && !port.startsWith('0'))
  if (valid) lastValidHost = host
  return valid
}

/**
 * The base of the URLs the API hands out: `publicUrl` (TTS_PUBLIC_URL, trailing slashes
 * removed) when configured, else `<protocol>://<host>` from the request — whose Host the request
 * guard has already checked with {@link isValidHost} (an invalid one is a 400, RFC 9112 §3.2) —
 * else, for a request without Host (HTTP/1.0), the address the request reached.
 */
export function publicBaseUrl(publicUrl: string | undefined, request: FastifyRequest): string {
  if (publicUrl !== undefined) return publicUrl.replace(/\/+$/, '')
  const host = request.host
  if (host !== '' && isValidHost(host)) return `${request.protocol}://${host}`
  const { localAddress, localPort } = request.socket
  const address = localAddress === undefined ? '127.0.0.1' : localAddress.includes(':') ? `[${localAddress}]` : localAddress
  return `${request.protocol}://${address}${localPort === undefined ? '' : `:${localPort}`}`
}
