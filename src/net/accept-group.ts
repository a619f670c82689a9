/**
 * One listening port served by several sockets of a SO_REUSEPORT group, every one of them
 * feeding the same server.
 *
 * Why: since libuv 1.45 (libuv pull request 3696; Node 20 and later) a listening socket accepts
 * ONE connection per turn of the event loop. A turn of a busy server serves every open
 * connection once, so new connections wait in the kernel's accept queue for a whole turn each.
 * 256 connections opened together onto a saturated server drained from the accept queue 2–3 per
 * 100 ms (`ss -ltn`); the last waited several seconds for its first answer (issue 19, goal 1: no
 * request over 1 s). FreeSWITCH opens one outbound ESL connection per call, so a burst of calls
 * onto a busy service waits the same way. With N sockets in the group the kernel spreads new
 * connections over N accept queues and one turn accepts up to N.
 *
 * The price: a SO_REUSEPORT group admits any socket of the same user that also asks for it, so
 * a second copy of the service started by mistake would share the port and its connections
 * instead of failing. Before it joins a group, listenAcceptGroup therefore binds the port once
 * alone (no SO_REUSEPORT): anything already listening there makes that fail with EADDRINUSE.
 */
import { createServer, type Server } from 'node:net'

/** Linux spreads a SO_REUSEPORT group's connections over its sockets; elsewhere one socket. */
export const REUSE_PORT_SPREADS = process.platform === 'linux'

export interface AcceptGroupOptions {
  readonly host: string
  /** 0: an ephemeral port, which the whole group then shares. */
  readonly port: number
  /** Listening sockets in the group, the server's own included. 1: no group. */
  readonly sockets: number
  /** Set on every accepted socket, as `net.createServer({ noDelay })` does. Default true. */
  readonly noDelay?: boolean | undefined
}

export interface AcceptGroup {
  readonly host: string
  readonly port: number
  /** Listening sockets open, the server's own included. */
  readonly sockets: number
  /**
   * The group's other sockets stop accepting at once (the server's own is its owner's to close);
   * resolves when the connections they accepted have all closed, as `server.close` does for its own.
   */
  close(): Promise<void>
}

/**
 * Listens `server` on host:port, with `sockets - 1` more sockets of the same SO_REUSEPORT group
 * handing what they accept to it (its 'connection' event, as Node documents for injecting
 * sockets). `listen` is how the server itself is started (Fastify has its own `listen`); it gets
 * the options to pass on and resolves with the address bound.
 */
export async function listenAcceptGroup(
  server: Server,
  options: AcceptGroupOptions,
  listen: (listenOptions: { host: string; port: number; reusePort: boolean }) => Promise<unknown> = (o) => listenOnce(server, o),
): Promise<AcceptGroup> {
  const sockets = REUSE_PORT_SPREADS ? Math.max(1, Math.floor(options.sockets)) : 1
  const reusePort = sockets > 1
  if (reusePort && options.port !== 0) await assertPortFree(options.host, options.port)
  await listen({ host: options.host, port: options.port, reusePort })
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('the server is not listening on a TCP port')
  const group: Server[] = []
  const close = async (): Promise<void> => {
    const open = group.splice(0)
    await Promise.all(open.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
  // The server closed some other way (its owner's close, an error): the group follows it.
  server.once('close', () => void close())
  try {
    for (let i = 1; i < sockets; i++) {
      const extra = createServer({ noDelay: options.noDelay ?? true }, (socket) => server.emit('connection', socket))
      group.push(extra)
      await listenOnce(extra, { host: address.address, port: address.port, reusePort: true })
    }
  } catch (error) {
    await close()
    throw error
  }
  return { host: options.host, port: address.port, sockets: group.length + 1, close }
}

function listenOnce(server: Server, options: { host: string; port: number; reusePort: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/** Binds host:port alone for a moment: EADDRINUSE when anything (a copy of us included) listens there. */
async function assertPortFree(host: string, port: number): Promise<void> {
  const probe = createServer()
  await listenOnce(probe, { host, port, reusePort: false })
  await new Promise<void>((resolve) => probe.close(() => resolve()))
}
