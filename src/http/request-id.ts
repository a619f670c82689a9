import type { IncomingMessage } from 'node:http'

/**
 * A client's `X-Request-Id` is taken (echoed in the response and carried by every log line of
 * the request) only when it is 1–128 characters of this set: enough for UUIDs, W3C trace ids,
 * base64 and `host:pid/n` styles, and nothing that can break a log line, a header or a page.
 * Anything else is replaced by a generated id.
 */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:/+=@-]{1,128}$/

/**
 * Fastify's `genReqId`: the client's id when well-formed, else `req-<n>` (base 36, per server,
 * as Fastify's own generator). Use with `requestIdHeader: false`, or Fastify takes the header
 * unchecked.
 */
export function requestIdGenerator(): (request: IncomingMessage) => string {
  let next = 0
  return (request) => {
    const given = request.headers['x-request-id']
    if (typeof given === 'string' && REQUEST_ID_PATTERN.test(given)) return given
    next = (next + 1) & 0x7fffffff
    return `req-${next.toString(36)}`
  }
}
