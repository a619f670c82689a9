import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { listenAcceptGroup, REUSE_PORT_SPREADS, type AcceptGroup } from '../../src/net/accept-group.js'

/**
 * A worker thread opens `count` connections to 127.0.0.1:port while this thread's event loop is
 * blocked (Atomics.wait), so the kernel queues them all before the server can accept any; the
 * worker notifies once every connect has completed (the handshake is the kernel's).
 */
function connectWhileBlocked(port: number, count: number): Worker {
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(
    `
    const { connect } = require('node:net')
    const { workerData } = require('node:worker_threads')
    const sockets = []
    let connected = 0
    for (let i = 0; i < workerData.count; i++) {
      const s = connect(workerData.port, '127.0.0.1', () => {
        if (++connected === workerData.count) { Atomics.store(workerData.flag, 0, 1); Atomics.notify(workerData.flag, 0) }
      })
      s.on('error', () => {})
      sockets.push(s)
    }
    require('node:worker_threads').parentPort.on('message', () => { for (const s of sockets) s.destroy(); process.exit(0) })
    `,
    { eval: true, workerData: { port, count, flag } },
  )
  // Blocks this thread until every connection is established (bounded: the test fails, not hangs).
  const outcome = Atomics.wait(flag, 0, 0, 10_000)
  if (outcome === 'timed-out') throw new Error('the worker did not connect within 10 s')
  return worker
}

/** How many 'connection' events `server` emits in one turn of the event loop (between two check phases). */
function acceptedInOneTurn(server: Server): Promise<number> {
  let accepted = 0
  const count = (): void => void accepted++
  return new Promise((resolve) =>
    setImmediate(() => {
      server.on('connection', count)
      setImmediate(() => {
        server.off('connection', count)
        resolve(accepted)
      })
    }),
  )
}

function listeners(port: number): number {
  const out = execFileSync('ss', ['-ltnH', `( sport = :${port} )`], { encoding: 'utf8' })
  return out.split('\n').filter((line) => line.trim() !== '').length
}

const open: { server: Server; group?: AcceptGroup; sockets: Socket[] }[] = []

async function start(sockets: number, port = 0): Promise<{ server: Server; group: AcceptGroup; accepted: Socket[] }> {
  const accepted: Socket[] = []
  const server = createServer((socket) => {
    accepted.push(socket)
    socket.on('data', (chunk) => socket.write(chunk))
  })
  const entry: (typeof open)[number] = { server, sockets: accepted }
  open.push(entry)
  const group = await listenAcceptGroup(server, { host: '127.0.0.1', port, sockets })
  entry.group = group
  return { server, group, accepted }
}

afterEach(async () => {
  for (const { server, group, sockets } of open.splice(0)) {
    for (const s of sockets) s.destroy()
    await Promise.all([group?.close(), new Promise((resolve) => server.close(resolve))])
  }
})

describe.runIf(REUSE_PORT_SPREADS)('listenAcceptGroup (SO_REUSEPORT, Linux)', () => {
  it('one listening socket accepts one queued connection per event-loop turn (libuv), the group one per socket', async () => {
    const single = await start(1)
    let worker = connectWhileBlocked(single.group.port, 64)
    expect(await acceptedInOneTurn(single.server)).toBe(1)
    worker.postMessage('done')
    await once(worker, 'exit')

    const grouped = await start(64)
    worker = connectWhileBlocked(grouped.group.port, 64)
    // 64 connections hashed over 64 accept queues: ~40 non-empty, each gives one in this turn.
    expect(await acceptedInOneTurn(grouped.server)).toBeGreaterThanOrEqual(16)
    worker.postMessage('done')
    await once(worker, 'exit')
  })

  it('shares an ephemeral port over the whole group, and every socket hands its connections to the server', async () => {
    const { group, accepted } = await start(8)
    expect(group.sockets).toBe(8)
    expect(listeners(group.port)).toBe(8)
    const clients = await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const client = connect(group.port, '127.0.0.1')
        await once(client, 'connect')
        client.write(`hello ${i}`)
        const [echo] = (await once(client, 'data')) as [Buffer]
        expect(echo.toString()).toBe(`hello ${i}`)
        return client
      }),
    )
    expect(accepted).toHaveLength(32)
    // Spread over several of the group's sockets, not all through the server's own.
    expect(new Set(accepted.map((s) => (s as Socket & { server?: unknown }).server)).size).toBeGreaterThan(1)
    for (const c of clients) c.destroy()
  })

  it('refuses a port something already listens on, a copy of itself included, and leaves the first group serving', async () => {
    const first = await start(4)
    const second = createServer()
    await expect(listenAcceptGroup(second, { host: '127.0.0.1', port: first.group.port, sockets: 4 })).rejects.toMatchObject({ code: 'EADDRINUSE', syscall: 'listen' })
    expect(second.listening).toBe(false)
    expect(listeners(first.group.port)).toBe(4)

    const plain = createServer()
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
    const port = (plain.address() as { port: number }).port
    try {
      await expect(listenAcceptGroup(createServer(), { host: '127.0.0.1', port, sockets: 4 })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    } finally {
      await new Promise((resolve) => plain.close(resolve))
    }
  })

  it('close stops every socket of the group at once and resolves when their connections are gone', async () => {
    const { server, group, accepted } = await start(8)
    const clients = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const client = connect(group.port, '127.0.0.1')
        await once(client, 'connect')
        client.write('x')
        await once(client, 'data')
        return client
      }),
    )
    let drained = false
    const closing = group.close().then(() => (drained = true))
    server.close()
    expect(listeners(group.port)).toBe(0)
    const refused = connect(group.port, '127.0.0.1')
    await expect(once(refused, 'connect')).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    // Connections the group accepted are still open: close has not resolved.
    await new Promise((resolve) => setImmediate(resolve))
    expect(drained).toBe(false)
    for (const c of clients) c.destroy()
    for (const s of accepted) s.destroy()
    await closing
    expect(drained).toBe(true)
  })
})
