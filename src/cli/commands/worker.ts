import { redisConfigured } from '../../app/cluster-settings.js'
import { loadConfig } from '../../config/load-config.js'
import { detectEngines, engineRendererFor } from '../../app/engine-options.js'
import { unknownEnvWarnings } from '../../config/env-check.js'
import { createLogger, logSecretsOf } from '../../logger.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { EXIT, UsageError } from '../output.js'

/**
 * `tts-cache worker`: BullMQ render workers only — no listeners, no node-side queue, no local
 * cache index (docs/scale-out.md). SIGTERM/SIGINT: finish running jobs within the grace, exit 0.
 */
export async function workerCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs(argv, { concurrency: { type: 'string' } })
  const overrides: Record<string, unknown> = { ...flagOverrides(values) }
  if (values.concurrency !== undefined) overrides['workerConcurrency'] = values.concurrency
  const config = loadConfig({ env, file: values.config, overrides })
  if (!redisConfigured(config)) throw new UsageError('worker needs REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (render workers take jobs from the BullMQ queue)')
  const logger = createLogger({ level: config.logLevel, secrets: logSecretsOf(config) })
  for (const warning of unknownEnvWarnings(env)) logger.warn({}, warning)
  const engines = await detectEngines(config, logger)
  const renderer = engineRendererFor(config, engines, logger)
  const { startWorker } = await import('../../app/cluster.js')
  const worker = startWorker({ config, logger, renderer, engines, transport: config.clusterAudio })
  await worker.whenReady()
  logger.info({ concurrency: config.workerConcurrency, engines: engines.ids() }, 'render worker running')
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'worker shutting down')
      worker.close(config.shutdownGraceMs).then(
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
