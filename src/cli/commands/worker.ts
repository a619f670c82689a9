import { buildApp } from '../../app.js'
import { loadConfig } from '../../config/load-config.js'
import { createLogger } from '../../logger.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { EXIT, UsageError } from '../output.js'

/** `tts-cache worker`: BullMQ render workers only, no listeners (docs/scale-out.md). */
export async function workerCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs(argv, { concurrency: { type: 'string' } })
  const overrides: Record<string, unknown> = { ...flagOverrides(values), httpEnabled: false, eslEnabled: false, workersInProcess: true }
  if (values.concurrency !== undefined) overrides['workerConcurrency'] = values.concurrency
  const config = loadConfig({ env, file: values.config, overrides })
  if (config.redisUrl === undefined) throw new UsageError('worker needs REDIS_URL (render workers take jobs from the BullMQ queue)')
  const logger = createLogger({ level: config.logLevel })
  const app = await buildApp(config, { logger, listeners: false })
  logger.info({ concurrency: config.workerConcurrency }, 'render worker running')
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'worker shutting down')
      app.close(config.shutdownGraceMs).then(
        () => resolve(EXIT.ok),
        (error: unknown) => {
          logger.error({ err: error }, 'worker shutdown failed')
          resolve(EXIT.failed)
        },
      )
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}
