import { buildApp, type App, type AppOverrides } from '../app/build-app.js'
import { loadConfig } from '../config/load-config.js'
import type { Config } from '../config/schema.js'
import { unknownEnvWarnings } from '../config/env-check.js'
import { createLogger, logSecretsOf } from '../logger.js'
import { err } from './output.js'
import { ensureWritableCacheDir } from './startup-checks.js'

/**
 * For the one-shot commands (get, prewarm, stats, purge): the same app as `serve`, without
 * listeners, working directly on the cache directory. Logs go to stderr at warn so stdout
 * stays machine-readable; unknown TTS_* variables are warned about there too, and a cache
 * directory this user cannot write is refused (TTS_ERR_CACHE_DIR). `appOverrides` size parts for the command (prewarm: its tracker).
 */
export async function withLocalApp<T>(
  env: NodeJS.ProcessEnv,
  overrides: Record<string, unknown>,
  configFile: string | undefined,
  use: (app: App, config: Config) => Promise<T>,
  appOverrides: Pick<AppOverrides, 'prewarmOptions'> = {},
): Promise<T> {
  const config = loadConfig({ env, file: configFile, overrides })
  for (const warning of unknownEnvWarnings(env)) err(`tts-cache: warning: ${warning}`)
  await ensureWritableCacheDir(config.cacheDir)
  const logger = createLogger({ level: env['TTS_LOG_LEVEL'] ?? 'warn', destination: 2, secrets: logSecretsOf(config) })
  const app = await buildApp(config, { ...appOverrides, logger, listeners: false })
  try {
    return await use(app, config)
  } finally {
    await app.close(config.shutdownGraceMs)
  }
}
