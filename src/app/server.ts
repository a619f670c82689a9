/**
 * Starts and stops the listeners of a built app: the ESL per-call hook, the HTTP API and the
 * optional inbound ESL connection. Shutdown order: stop accepting everywhere, let in-flight
 * HTTP requests and ESL calls finish (bounded), then the caller closes the app itself.
 */
import type { FastifyInstance } from 'fastify'
import type { App } from './build-app.js'
import { EslInboundClient, EslOutboundServer, parseEslAllowList } from '../esl/index.js'
import { buildHttpServer } from '../http/index.js'
import { listenAcceptGroup, type AcceptGroup } from '../net/accept-group.js'

/** pino levels at which Fastify's own listening lines would be written. */
const LOGS_INFO = new Set(['info', 'debug', 'trace'])

export interface RunningServer {
  /** Where each listener is bound (port 0 in config resolves to the real port here). */
  readonly http: { host: string; port: number } | undefined
  readonly esl: { host: string; port: number } | undefined
  readonly inbound: EslInboundClient | undefined
  /** Stop accepting and wait (at most `graceMs`) for in-flight requests and calls. */
  close(graceMs: number): Promise<void>
}

export async function startServer(app: App): Promise<RunningServer> {
  const { config, logger } = app
  const stops: ((graceMs: number) => Promise<void>)[] = []
  const stopAll = async (graceMs: number): Promise<void> => {
    const results = await Promise.allSettled(stops.map((stop) => stop(graceMs)))
    for (const r of results) if (r.status === 'rejected') logger.error({ err: r.reason }, 'listener did not close cleanly')
  }
  try {
    let esl: RunningServer['esl']
    if (config.eslEnabled) {
      const server = new EslOutboundServer({
        host: config.eslHost,
        port: config.eslPort,
        defaultDeadlineMs: Math.min(config.eslDeadlineMs, config.eslMaxDeadlineMs),
        maxDeadlineMs: config.eslMaxDeadlineMs,
        service: app.service,
        logger,
        observer: app.metrics.esl,
        callLog: config.eslCallLog,
        allow: parseEslAllowList(config.eslAllow),
        acceptSockets: config.acceptSockets,
      })
      // The server logs its own "listening" line (component esl).
      esl = await server.listen()
      stops.push((graceMs) => server.close(graceMs))
    }
    let inbound: EslInboundClient | undefined
    if (config.fsEslHost !== undefined) {
      const client = new EslInboundClient({
        host: config.fsEslHost,
        port: config.fsEslPort,
        password: config.fsEslPassword,
        heartbeatTimeoutMs: config.fsEslHeartbeatTimeoutMs,
        prewarm: app.prewarm,
        logger,
        observer: app.metrics.esl,
      })
      client.start()
      inbound = client
      stops.push(() => client.stop())
      app.addReadinessCheck('freeswitch', () => {
        const status = client.state()
        return { ok: status.state === 'connected', state: status.state === 'connected' ? 'ok' : 'failed', detail: status.lastError === undefined ? status.state : `${status.state}: ${status.lastError.code}: ${status.lastError.message}` }
      })
    }
    let http: RunningServer['http']
    if (config.httpEnabled) {
      const listening = await startHttp(app)
      http = listening.address
      stops.unshift(listening.stop)
    }
    return { http, esl, inbound, close: stopAll }
  } catch (error) {
    await stopAll(0)
    throw error
  }
}

/** The HTTP API on its accept group (src/net/accept-group.ts), and how to stop both. */
async function startHttp(app: App): Promise<{ address: { host: string; port: number }; stop: () => Promise<void> }> {
  const { config } = app
  const server = buildHttpServer(app, { closeGraceMs: config.shutdownGraceMs })
  const group = await listenWithoutFastifyLines(server, { host: config.httpHost, port: config.httpPort, sockets: config.acceptSockets })
  const address = { host: config.httpHost, port: group.port }
  server.log.info({ ...address, acceptSockets: group.sockets }, 'HTTP API listening')
  const stop = async (): Promise<void> => {
    // The group stops accepting with the server; its connections close as the server's do
    // (Connection: close while closing, all of them after the shutdown grace).
    const drained = group.close()
    await server.close()
    await drained
  }
  return { address, stop }
}

/**
 * Fastify logs its own `Server listening at …` at info, one line per interface address (several
 * for 0.0.0.0), with no port field; the one line per front is ours. Its logger is muted for the
 * listen call only: after `ready()` nothing else logs there, and request loggers (children made
 * per request) do not exist yet. A level below info (warn, error…) is left as it is.
 */
async function listenWithoutFastifyLines(server: FastifyInstance, address: { host: string; port: number; sockets: number }): Promise<AcceptGroup> {
  await server.ready()
  const level = server.log.level
  const mute = LOGS_INFO.has(level)
  if (mute) server.log.level = 'warn'
  try {
    return await listenAcceptGroup(server.server, address, (options) => server.listen(options))
  } finally {
    if (mute) server.log.level = level
  }
}
