// @ts-check
/**
 * A lean HTTP/1.1 client for bursts: N keep-alive connections opened beforehand (so a burst
 * measures requests, not TCP handshakes), then one GET written on every connection in the same
 * tick; each answer is timed from that tick to its last body byte. Used by the fan-out bench
 * (N coalesced waiters vs N concurrent hits of the same file).
 */
import { connect } from 'node:net'

/**
 * @typedef {object} BurstAnswer
 * @property {number} ms from the burst's start to the answer's last byte
 * @property {number} status
 * @property {string} cache X-TTS-Cache ('' when absent)
 * @property {number} bytes body bytes
 */

/**
 * @typedef {object} BurstClient
 * @property {(path: string, headers?: Record<string, string>, count?: number) => Promise<BurstAnswer[]>} burst
 *   the same GET on the first `count` connections (default all) at once
 * @property {() => void} close
 */

/**
 * @param {{ host: string, port: number, connections: number, connectBatch?: number }} options
 * @returns {Promise<BurstClient>}
 */
export async function openBurstClient(options) {
  /** @type {import('node:net').Socket[]} */
  const sockets = []
  const batch = options.connectBatch ?? 100
  for (let i = 0; i < options.connections; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, options.connections - i) }, () =>
        /** @type {Promise<import('node:net').Socket>} */ (
          new Promise((resolve, reject) => {
            const socket = connect({ host: options.host, port: options.port, noDelay: true })
            socket.once('connect', () => {
              // Errors while idle surface as the next answer's premature close.
              socket.on('error', () => undefined)
              resolve(socket)
            })
            socket.once('error', reject)
          })
        ),
      ),
    )
    sockets.push(...opened)
  }
  return {
    async burst(path, headers = {}, count = sockets.length) {
      const head = [`GET ${path} HTTP/1.1`, `Host: ${options.host}:${options.port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n')
      const started = performance.now()
      const answers = sockets.slice(0, count).map((socket) => readAnswer(socket, started))
      for (const socket of sockets.slice(0, count)) socket.write(head)
      return Promise.all(answers)
    },
    close() {
      for (const socket of sockets) socket.destroy()
    },
  }
}

/**
 * One response off a keep-alive socket (Content-Length framing, as our server and nginx send).
 * @param {import('node:net').Socket} socket
 * @param {number} started
 * @returns {Promise<BurstAnswer>}
 */
function readAnswer(socket, started) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    let chunks = []
    let headerText = ''
    let status = 0
    let cache = ''
    let length = -1
    let received = 0
    const onData = (/** @type {Buffer} */ chunk) => {
      if (length === -1) {
        chunks.push(chunk)
        const all = Buffer.concat(chunks)
        const end = all.indexOf('\r\n\r\n')
        if (end === -1) return
        headerText = all.subarray(0, end).toString('latin1')
        status = Number(/^HTTP\/1\.1 (\d+)/.exec(headerText)?.[1] ?? 0)
        cache = /\r\nx-tts-cache: *([^\r]*)/i.exec(headerText)?.[1] ?? ''
        length = Number(/\r\ncontent-length: *(\d+)/i.exec(headerText)?.[1] ?? 0)
        received = all.length - end - 4
        chunks = []
      } else {
        received += chunk.length
      }
      if (received >= length) {
        socket.off('data', onData)
        socket.off('error', onError)
        socket.off('close', onClose)
        resolve({ ms: performance.now() - started, status, cache, bytes: received })
      }
    }
    const onError = (/** @type {Error} */ err) => {
      socket.off('data', onData)
      socket.off('close', onClose)
      reject(err)
    }
    const onClose = () => onError(new Error(`connection closed before the whole answer (${received} of ${length} body bytes; ${headerText.split('\r\n')[0] ?? ''})`))
    socket.on('data', onData)
    socket.once('error', onError)
    socket.once('close', onClose)
  })
}
