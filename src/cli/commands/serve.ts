import type { Logger } from 'pino'
import type { Config } from '../../config/schema.js'
import { loadConfig } from '../../config/load-config.js'
import { DEFAULTS } from '../../core/defaults.js'
import { createLogger, logSecretsOf } from '../../logger.js'
import type { App } from '../../app/build-app.js'
import type { RunningServer } from '../../app/server.js'
import type { Liveness, LivenessOptions } from '../../supervision/liveness.js'
import type { SupervisedMessage } from '../../supervision/supervisor-protocol.js'
import { unknownEnvWarnings } from '../../config/env-check.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { flushCompileCache } from '../compile-cache.js'
import { EXIT, UsageError } from '../output.js'
import { ensureWritableCacheDir, explainListenError } from '../startup-checks.js'

/** Set by `serve --supervise` in its child's environment: beat over the IPC channel. */
export const SUPERVISED_ENV = 'TTS_SUPERVISED'

/**
 * `tts-cache serve`: the ESL hook, the HTTP API, the optional inbound ESL connection and (by
 * default) in-process render workers. SIGTERM/SIGINT: stop accepting, finish in-flight work
 * within TTS_SHUTDOWN_GRACE_MS, close adapters, exit 0. A second signal exits at once (1).
 *
 * Once listening, the event loop beats (src/supervision/liveness.ts) for the in-process watchdog
 * (TTS_WATCHDOG_MS), for systemd (NOTIFY_SOCKET: READY=1, WATCHDOG=1, STOPPING=1) and for a
 * `--supervise` parent, which runs this same command as its child (src/supervision/supervisor.ts).
 */
export async function serveCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs(argv, { supervise: { type: 'boolean' } })
  const config = loadConfig({ env, file: values.config, overrides: flagOverrides(values) })
  const logger = createLogger({ level: config.logLevel, secrets: logSecretsOf(config) })
  // A --supervise child's parent has said these already.
  if (env[SUPERVISED_ENV] !== '1') for (const warning of unknownEnvWarnings(env)) logger.warn({}, warning)
  await ensureWritableCacheDir(config.cacheDir)
  if (values.supervise === true) return superviseServe(argv, env, config, logger)
  // Under systemd Type=notify: fail now, before listening, if sd_notify cannot work.
  const { openSdNotifier, sdNotifyEnvironment } = await import('../../supervision/sd-notify.js')
  const sd = sdNotifyEnvironment(env, process.pid)
  const systemd = sd === undefined ? undefined : { notifier: openSdNotifier(sd, logger), watchdogMs: sd.watchdogMs }
  // The listeners' modules (Fastify and its plugins: a third of the start-up) load while
  // buildApp waits for the engine probes, instead of before it.
  const serverModule = import('../../app/server.js')
  serverModule.catch(() => undefined) // Awaited below; this only keeps an early failure from being "unhandled".
  const { buildApp } = await import('../../app/build-app.js')
  const app = await buildApp(config, { logger, listeners: true })
  let server: RunningServer
  try {
    const { startServer } = await serverModule
    server = await startServer(app)
  } catch (error) {
    await app.close(0)
    throw explainListenError(error, config)
  }
  const liveness = await startServeLiveness(config, env, logger, systemd)
  // Listening: soon index the cache directory (hits are served from disk meanwhile) and re-check
  // the engine probes the start replayed (never throws).
  const cancelBackgroundWork = startBackgroundWorkSoon(app, DEFAULTS.serveBackgroundWorkDelayMs)
  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: NodeJS.Signals | 'supervisor gone'): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now')
        process.exit(EXIT.failed)
      }
      stopping = true
      cancelBackgroundWork()
      liveness.stopping()
      logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down')
      server
        .close(config.shutdownGraceMs)
        .then(() => app.close(config.shutdownGraceMs))
        .then(() => liveness.close())
        .then(
          () => {
            logger.info({}, 'stopped')
            logger.flush()
            exitIfKeptAlive(EXIT.ok, logger)
            resolve(EXIT.ok)
          },
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed')
            logger.flush()
            exitIfKeptAlive(EXIT.failed, logger)
            resolve(EXIT.failed)
          },
        )
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
    // Under --supervise: the parent went away (killed, crashed). Drain and leave rather than run unwatched.
    if (process.channel !== undefined && env[SUPERVISED_ENV] === '1') process.once('disconnect', () => stop('supervisor gone'))
    // Ready only once the handlers above are in place: a supervisor or systemd may send SIGTERM
    // the moment it reads READY, and without a handler Node dies of it (exit by signal, not 0).
    liveness.ready()
  })
}

/**
 * The start-up scan and the engine re-check, `delayMs` after listening rather than at once: both
 * compete with the first calls and requests after a restart for the CPU (the scan's two child
 * processes and the indexing of what they read, the probes run in the render host). Measured
 * on `serve` restarts with 100,000 entries (a real ESL call and GET /v1/tts polled from spawn, 5
 * interleaved rounds on a shared 2-core box, load ~12): listening to the first hit took a median
 * of 537 ms with both started at once, 294 ms with them started later. Returns the
 * cancel for a stop that comes first (a first start's probes are remembered before listening:
 * nothing is lost; a restart keeps the memo it replayed).
 */
export function startBackgroundWorkSoon(app: Pick<App, 'store' | 'recheckEngines'>, delayMs: number): () => void {
  const timer = setTimeout(() => {
    app.store.startScan()
    void app.recheckEngines()
    // What the start compiled, written now (not only at exit): a service SIGKILLed later keeps it.
    flushCompileCache()
  }, delayMs)
  return () => clearTimeout(timer)
}

/**
 * Everything is closed: the process should end on its own. When a library still holds a timer
 * (BullMQ's Worker with its Redis dead: close() waits for a blocking command that never returns
 * and its lock-extender timer re-arms every 7.5 s; measured, `stopped` and still running 600 s
 * later), exit anyway after STOPPED_EXIT_MS, naming what was left. Unref'd: a process that ends
 * by itself never waits for it.
 */
const STOPPED_EXIT_MS = 1000
function exitIfKeptAlive(code: number, logger: Logger): void {
  setTimeout(() => {
    logger.warn({ handles: process.getActiveResourcesInfo() }, 'stopped, but open handles keep the process alive: exiting')
    logger.flush()
    process.exit(code)
  }, STOPPED_EXIT_MS).unref()
}

/** The beats for whatever watches this process: the watchdog thread, systemd, a --supervise parent. */
async function startServeLiveness(config: Config, env: NodeJS.ProcessEnv, logger: Logger, systemd: LivenessOptions['systemd']): Promise<Liveness> {
  const { startLiveness } = await import('../../supervision/liveness.js')
  let supervisor: ((message: SupervisedMessage) => void) | undefined
  if (env[SUPERVISED_ENV] === '1' && process.send !== undefined && process.channel !== undefined) {
    // The channel must not keep the process alive after a drain.
    process.channel.unref()
    supervisor = (message) => {
      if (process.connected) process.send?.(message, undefined, {}, () => undefined)
    }
  }
  return startLiveness({
    logger,
    watchdogMs: config.watchdogMs,
    supervisor,
    systemd,
  })
}

/** `serve --supervise`: run `serve` as a child and SIGKILL + restart it when it stops beating. */
async function superviseServe(argv: readonly string[], env: NodeJS.ProcessEnv, config: Config, logger: Logger): Promise<number> {
  if (env['NOTIFY_SOCKET'] !== undefined && env['NOTIFY_SOCKET'] !== '') {
    throw new UsageError('--supervise is for runs without systemd; under systemd use the shipped unit (Type=notify, WatchdogSec) without it')
  }
  const { spawn } = await import('node:child_process')
  const { startSupervisor } = await import('../../supervision/supervisor.js')
  const { serveChildEnv, serveChildExecArgv } = await import('../../supervision/serve-memory.js')
  const script = process.argv[1]
  if (script === undefined) throw new UsageError('cannot tell which script to run as the child')
  // The child gets the memory settings (V8 flags, MALLOC_ARENA_MAX) the parent was not given.
  const childArgs = [...serveChildExecArgv(process.execArgv, env['NODE_OPTIONS']), script, 'serve', ...argv.filter((a) => a !== '--supervise')]
  const supervisor = startSupervisor({
    logger,
    watchdogMs: config.watchdogMs,
    startTimeoutMs: DEFAULTS.superviseStartTimeoutMs,
    maxRestartDelayMs: DEFAULTS.superviseMaxRestartDelayMs,
    spawnChild: () =>
      // Its own process group: a terminal's Ctrl-C reaches the parent only, which forwards it once.
      spawn(process.execPath, childArgs, { env: { ...serveChildEnv(env), [SUPERVISED_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true }),
  })
  process.on('SIGTERM', () => supervisor.stop('SIGTERM'))
  process.on('SIGINT', () => supervisor.stop('SIGINT'))
  const code = await supervisor.done
  logger.flush()
  return code
}
