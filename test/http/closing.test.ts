import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { buildTestHttpApp } from '../harness/http/test-app.js'
import { eventually } from '../harness/http/test-apps.js'
import { listen, parseRaw } from '../harness/http/listening.js'

describe('app.close()', () => {
  it('waits for requests in flight, and answers requests that arrive meanwhile with 503 TTS_ERR_SHUTTING_DOWN', async () => {
    const t = await buildTestHttpApp()
    try {
      const base = await listen(t.app)
      const { port } = new URL(base)
      t.renderer.hold()
      const inFlight = fetch(`${base}/v1/tts?text=in%20flight`)
      await t.renderer.waitForStarted(1)
      // A second client has sent half of its request when the shutdown begins.
      const socket = connect({ host: '127.0.0.1', port: Number(port) })
      await new Promise((resolve) => socket.once('connect', resolve))
      const answer = new Promise<string>((resolve) => {
        let data = ''
        socket.on('data', (c: Buffer) => (data += c.toString('latin1')))
        socket.on('close', () => resolve(data))
      })
      socket.write('GET /v1/tts?text=late HTTP/1.1\r\nHost: x\r\n')
      const closed = t.app.close()
      await eventually(() => (t.app.server.listening ? undefined : true))
      socket.write('\r\n')
      const late = parseRaw(await answer)
      expect(late.status).toBe(503)
      expect(JSON.parse(late.body)).toEqual({ code: 'TTS_ERR_SHUTTING_DOWN', message: 'the service is shutting down' })
      expect(late.headers).toMatch(/\r\nretry-after: 1\r\n/i)
      expect(late.headers).toMatch(/\r\nconnection: close\r\n/i)
      t.renderer.release()
      const res = await inFlight
      expect(res.status).toBe(200)
      expect(Buffer.from(await res.arrayBuffer()).toString('ascii', 0, 4)).toBe('RIFF')
      await closed
      expect(t.renderer.started.map((j) => j.request.text)).toEqual(['in flight'])
    } finally {
      await t.close()
    }
  })

  it('stops handing pre-warm items over and marks the batch cancelled', async () => {
    const t = await buildTestHttpApp({ config: { renderConcurrency: 1 } })
    try {
      t.renderer.hold()
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/prewarm',
        headers: { authorization: 'Bearer test-token-7f3a9c1e' },
        payload: { items: Array.from({ length: 20 }, (_, i) => ({ text: `p${i}` })) },
      })
      await t.renderer.waitForStarted(1)
      const closed = t.app.close()
      t.renderer.release()
      await closed
      // The item in flight finishes in the service; then the batch settles as cancelled.
      const progress = await eventually(() => {
        const p = t.app.prewarm.progress(res.json().id)
        return p?.state === 'running' ? undefined : p
      })
      expect(progress).toMatchObject({ state: 'cancelled', total: 20 })
      expect((progress?.done ?? 0) + (progress?.failed ?? 0)).toBe(20)
      expect(progress?.failed).toBeGreaterThan(0)
    } finally {
      await t.close()
    }
  })
})
