// @ts-check
/**
 * One HTTP GET timed the way k6 times `http_req_duration`: from the moment the request can go
 * out on a connected socket (a new connection's TCP connect is left out, as k6 leaves out
 * `http_req_connecting`) to the last byte of the body, which is read and discarded (k6's
 * `responseType: 'none'`). Never rejects: a network error or timeout is status 0.
 */
import http from 'node:http'

/**
 * @typedef {object} TimedResponse
 * @property {number} status 0 when no response arrived
 * @property {Record<string, string | string[] | undefined>} headers
 * @property {number} durationMs
 * @property {number} bytes body bytes received
 * @property {string} [error]
 */

/**
 * @param {http.Agent} agent keep-alive, with at least as many sockets as requests in flight
 * @param {URL} url
 * @param {{ headers?: Record<string, string>, timeoutMs?: number, signal?: AbortSignal }} [options]
 *   timeoutMs: k6's default request timeout is 60 s
 * @returns {Promise<TimedResponse>}
 */
export function timedGet(agent, url, options = {}) {
  return new Promise((resolve) => {
    let startedAt = performance.now()
    let bytes = 0
    const fail = (/** @type {Error} */ err) => resolve({ status: 0, headers: {}, durationMs: performance.now() - startedAt, bytes, error: err.message })
    const req = http.request(url, { agent, headers: options.headers ?? {}, timeout: options.timeoutMs ?? 60_000, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
      res.on('data', (/** @type {Buffer} */ chunk) => {
        bytes += chunk.length
      })
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, durationMs: performance.now() - startedAt, bytes }))
      res.once('error', fail)
    })
    req.once('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => (startedAt = performance.now()))
    })
    req.once('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 60_000} ms`)))
    req.once('error', fail)
    req.end()
  })
}
