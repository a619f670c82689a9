// @ts-check
/**
 * Child process for the start-up benchmark: opens the cache directory the way a one-shot command
 * does — buildApp from the package's public entry (dist/index.js), so the whole index is built
 * before it returns — with a fixed engine catalog and no renderer (nothing is probed or rendered),
 * and prints one JSON line {openMs, entries, rssBytes, heapUsedBytes, ...}. Run in a fresh
 * process so the RSS is the app's (its store's index) and nothing else's:
 *
 *   node --expose-gc load/bench/child/open-store.js <cacheDir> [ours|walk|empty]
 *
 * `walk` is the baseline: a bare readdir of every shard and leaf directory with the same
 * concurrency (no file is opened) — the floor for any index built at start. `empty` opens
 * nothing: the RSS of a Node process with the same modules loaded and no index.
 */
import fs from 'node:fs/promises'
import path from 'node:path'

const [, , cacheDir = '', mode = 'ours', concurrencyArg = '32'] = process.argv
const concurrency = Number(concurrencyArg)

/** A Logger (src/core/ports/index.ts) that drops everything but counts warnings and errors. */
const counts = { warn: 0, error: 0 }
/** @type {any} */
const logger = {
  debug() {},
  info() {},
  warn() { counts.warn++ },
  error() { counts.error++ },
  child() { return logger },
}

/** @param {string[]} items @param {(item: string) => Promise<void>} fn */
async function forEachLimit(items, fn) {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(/** @type {string} */ (items[next++]))
  }))
}

async function walk() {
  let files = 0
  const tops = (await fs.readdir(cacheDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name)
  /** @type {string[]} */
  const leaves = []
  await forEachLimit(tops, async (top) => {
    for (const d of await fs.readdir(path.join(cacheDir, top), { withFileTypes: true })) if (d.isDirectory()) leaves.push(path.join(top, d.name))
  })
  await forEachLimit(leaves, async (leaf) => {
    for (const name of await fs.readdir(path.join(cacheDir, leaf))) if (name.endsWith('.wav')) files++
  })
  return files
}

const { buildApp, loadConfig, TtsError } = await import('../../../dist/index.js')
/** The generated entries' engine at any version; never asked to render. */
const catalog = {
  /** @param {string} engine */
  versionOf(engine) {
    if (engine !== 'espeak-ng') throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [engine] })
    return 'bench'
  },
  checkVoice() {},
  ids: () => ['espeak-ng'],
}
/** @type {import('../../../dist/index.js').Renderer} */
const noRenderer = async () => {
  throw new Error('open-store renders nothing')
}
/** @type {unknown} */
let keep
let entries = 0
const started = performance.now()
if (mode === 'ours') {
  // The store's scan concurrency is its default (32), the same as `walk` uses by default.
  const config = loadConfig({ env: {}, overrides: { cacheDir, maxCacheBytes: 1024 ** 4, logLevel: 'silent' } })
  const app = await buildApp(config, { logger, defaultMetrics: false, engines: catalog, renderer: noRenderer })
  entries = app.store.stats().entries // all entries (pinned ones included)
  keep = app
} else if (mode === 'walk') {
  entries = await walk()
}
const openMs = performance.now() - started
const gc = /** @type {undefined | (() => void)} */ (globalThis.gc)
gc?.()
gc?.()
const mem = process.memoryUsage()
process.stdout.write(`${JSON.stringify({ mode, openMs, entries, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, externalBytes: mem.external, warnings: counts.warn, errors: counts.error, kept: keep !== undefined })}\n`)
process.exit(0)
