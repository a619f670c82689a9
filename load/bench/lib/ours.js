// @ts-check
/**
 * "Ours" for the in-process scenarios: the real app (buildApp from dist/index.js, the package's public entry, the same
 * composition `serve` and `get` use) without listeners, on a cache directory of its own.
 *
 * Renders are counted exactly through buildApp's `wrapRenderer` override: every engine run
 * (engine + sox + validation) goes through the wrapper, which also times it.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** render-host-protocol.ts's RENDER_HOST_FLAG: the one argument the host process runs with. */
const RENDER_HOST_FLAG = '--tts-cache-render-host'

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url))
export const SLOW_ENGINE = path.join(FIXTURES_DIR, 'slow-engine.sh')
export const COUNTING_ENGINE = path.join(FIXTURES_DIR, 'counting-engine.sh')

/** A Logger (pino's shape) that drops everything but keeps warnings and errors for the report. */
export function collectingLogger() {
  /** @type {{ level: string, msg: string | undefined, obj: unknown }[]} */
  const problems = []
  /** @type {any} */
  const logger = {
    level: 'warn',
    trace() {},
    debug() {},
    info() {},
    warn(/** @type {unknown} */ obj, /** @type {string | undefined} */ msg) {
      if (problems.length < 50) problems.push({ level: 'warn', msg, obj })
    },
    error(/** @type {unknown} */ obj, /** @type {string | undefined} */ msg) {
      if (problems.length < 50) problems.push({ level: 'error', msg, obj })
    },
    fatal(/** @type {unknown} */ obj, /** @type {string | undefined} */ msg) {
      if (problems.length < 50) problems.push({ level: 'fatal', msg, obj })
    },
    child() {
      return logger
    },
    isLevelEnabled: () => false,
    flush() {},
  }
  return { logger, problems }
}

/**
 * @typedef {object} OursOptions
 * @property {string} workDir cache and count files go under it
 * @property {'espeak-ng' | 'slow'} [engine] 'slow' is the command engine with slow-engine.sh
 * @property {number} [slowSeconds] render time of the slow fixture (default 1)
 * @property {Record<string, unknown>} [config] more config overrides (keys of src/config/schema.ts)
 * @property {(config: any, overrides: any) => Promise<any>} [buildApp] default: dist/index.js
 * @property {boolean} [renderHost] render in the render host process, as `serve` does (default: in this process,
 *   as a one-shot command does; buildApp's default without listeners)
 */

/**
 * @typedef {object} Ours
 * @property {any} app
 * @property {any} service the TtsService
 * @property {string} cacheDir
 * @property {(text: string, voice?: string) => Promise<{ path: string, status: string }>} get
 * @property {() => number} renders engine runs so far
 * @property {() => number[]} renderMs wall time of each finished engine run (engine + sox + checks), in order
 * @property {() => number | undefined} renderHostPid the render host's pid (with `renderHost`, once it is up)
 * @property {() => Promise<void>} close
 * @property {{ level: string, msg: string | undefined, obj: unknown }[]} problems warnings/errors logged
 */

/**
 * @param {OursOptions} options
 * @returns {Promise<Ours>}
 */
export async function startOurs(options) {
  const pkg = await import('../../../dist/index.js')
  const buildApp = options.buildApp ?? pkg.buildApp
  const { loadConfig } = pkg
  const cacheDir = path.join(options.workDir, 'cache')
  mkdirSync(cacheDir, { recursive: true })
  /** @type {Record<string, unknown>} */
  const engineConfig =
    options.engine === 'slow'
      ? { engine: 'command', command: [SLOW_ENGINE, '--seconds', String(options.slowSeconds ?? 1), '--rate', '{rate}', '--out', '{out}'] }
      : { engine: 'espeak-ng' }
  const config = loadConfig({
    env: {},
    overrides: { cacheDir, eslEnabled: false, httpEnabled: false, logLevel: 'warn', ...engineConfig, ...options.config },
  })
  const { logger, problems } = collectingLogger()
  let renders = 0
  /** @type {number[]} */
  const renderMs = []
  const app = await buildApp(config, {
    logger,
    listeners: false,
    renderHost: options.renderHost === true,
    defaultMetrics: false,
    wrapRenderer: (/** @type {(job: unknown, signal: AbortSignal) => Promise<unknown>} */ render) => async (/** @type {unknown} */ job, /** @type {AbortSignal} */ signal) => {
      renders++
      const started = performance.now()
      try {
        return await render(job, signal)
      } finally {
        renderMs.push(performance.now() - started)
      }
    },
  })
  const service = app.service
  return {
    app,
    service,
    cacheDir,
    problems,
    async get(text, voice) {
      const result = await service.get({ text, voice }, { source: 'cli', priority: 'live' })
      return { path: result.path, status: result.status }
    },
    renders: () => renders,
    renderMs: () => [...renderMs],
    renderHostPid: () => (options.renderHost === true ? renderHostPidOf(process.pid) : undefined),
    close: () => app.close(5000),
  }
}

/**
 * The pid of `parent`'s render host child (its command line carries the host's flag), if any.
 * @param {number} parent
 * @returns {number | undefined}
 */
export function renderHostPidOf(parent) {
  let children = ''
  try {
    children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'latin1')
  } catch {
    return undefined
  }
  for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes(RENDER_HOST_FLAG)) return Number(pid)
    } catch {
      // Exited meanwhile: not the host we look for.
    }
  }
  return undefined
}

/**
 * A note for RESULTS.md when our app logged warnings or errors during a scenario (nothing is
 * allowed to go wrong silently, including in a benchmark).
 * @param {Ours} ours
 * @returns {string[]}
 */
export function loggedProblems(ours) {
  if (ours.problems.length === 0) return []
  const first = ours.problems[0]
  const detail = first === undefined ? '' : `${first.level}: ${first.msg ?? ''} ${JSON.stringify(first.obj ?? {}).slice(0, 200)}`
  return [`⚠ our app logged ${ours.problems.length}${ours.problems.length >= 50 ? '+' : ''} warning(s)/error(s) during this scenario, first: ${detail}`]
}
