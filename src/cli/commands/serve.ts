import { buildApp } from '../../app.js'
import { loadConfig } from '../../config/load-config.js'
import { createLogger, logSecretsOf } from '../../logger.js'
import type { RunningServer } from '../../server.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { EXIT } from '../output.js'

/**
 * `tts-cache serve`: the ESL hook, the HTTP API, the optional inbound ESL connection and (by
 * default) in-process render workers. SIGTERM/SIGINT: stop accepting, finish in-flight work
 * within TTS_SHUTDOWN_GRACE_MS, close adapters, exit 0. A second signal exits at once (1).
 */
export async function serveCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs(argv, {})
  const config = loadConfig({ env, file: values.config, overrides: flagOverrides(values) })
  const logger = createLogger({ level: config.logLevel, secrets: logSecretsOf(config) })
  // The listeners' modules (Fastify and its plugins: a third of the start-up) load while
  // buildApp waits for the engine probes, instead of before it.
  const serverModule = import('../../server.js')
  serverModule.catch(() => undefined) // Awaited below; this only keeps an early failure from being "unhandled".
  const app = await buildApp(config, { logger, listeners: true })
  let server: RunningServer
  try {
    const { startServer } = await serverModule
    server = await startServer(app)
  } catch (error) {
    await app.close(0)
    throw error
  }
  // Listening: now index the cache directory (hits are served from disk meanwhile) and re-check
  // the engine probes the start replayed (never throws).
  app.store.startScan()
  void app.recheckEngines()
  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now')
        process.exit(EXIT.failed)
      }
      stopping = true
      logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down')
      server
        .close(config.shutdownGraceMs)
        .then(() => app.close(config.shutdownGraceMs))
        .then(
          () => {
            logger.info({}, 'stopped')
            logger.flush()
            resolve(EXIT.ok)
          },
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed')
            logger.flush()
            resolve(EXIT.failed)
          },
        )
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}
