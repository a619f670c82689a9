// @ts-check
/**
 * The bench's 100,000-entry cache tree (load/gen-cache-dir.js), made once and reused by later
 * runs: the start-up scenario measures on it, and the memory scenarios (mixed, soak) run their
 * service on a copy of it. Whoever runs first makes it — `ensureBigCache` is the one way to get
 * it, so the order of the scenarios only decides who pays for the generation (~15 s).
 * Its entries carry the installed espeak-ng's version, so they are hits for their texts.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { MARKER_FILE } from '../../gen-cache-dir.js'
import { REPO_ROOT } from './ours.js'

const run = promisify(execFile)

/** The generated 100k-entry tree is kept here between runs (load/.out is git-ignored). */
export const BIG_CACHE_DIR = path.join(REPO_ROOT, 'load/.out/cache-100k')
export const BIG_CACHE_ENTRIES = 100_000

/**
 * The installed espeak-ng's version as the service reads it (the generated keys must carry it to
 * be hits): the engine catalog of a one-shot app (buildApp from the public entry, dist/) on a scratch dir.
 * @returns {Promise<string>}
 */
export async function espeakVersion() {
  const { buildApp, loadConfig } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist/index.js')).href)
  const cacheDir = await mkdtemp(path.join(tmpdir(), 'tts-bench-version-'))
  try {
    const app = await buildApp(loadConfig({ env: {}, overrides: { cacheDir, logLevel: 'silent' } }), { defaultMetrics: false })
    try {
      return app.engines.versionOf('espeak-ng')
    } finally {
      await app.close(1000)
    }
  } finally {
    await rm(cacheDir, { recursive: true, force: true })
  }
}

/**
 * @typedef {object} BigCache
 * @property {string} dir
 * @property {number} entries
 * @property {boolean} reused the tree was there (same settings), nothing generated
 * @property {number} seconds time taken (generation, or the check)
 * @property {string} command how to make the same tree by hand
 */

/**
 * Makes sure `dir` holds the generated tree of `entries` entries for the installed espeak-ng,
 * generating it (in a child process, so `signal` can stop it) when it is missing, incomplete or
 * made with other settings; reuses it otherwise.
 * @param {string} [dir] BIG_CACHE_DIR unless given
 * @param {AbortSignal} [signal]
 * @param {{ entries?: number }} [options]
 * @returns {Promise<BigCache>}
 */
export async function ensureBigCache(dir = BIG_CACHE_DIR, signal, options = {}) {
  const entries = options.entries ?? BIG_CACHE_ENTRIES
  const engineVersion = await espeakVersion()
  const args = ['load/gen-cache-dir.js', '--dir', dir, '--entries', String(entries), '--engine-version', engineVersion]
  const shown = args.map((a) => (a === dir ? path.relative(REPO_ROOT, dir) || '.' : a))
  const command = `node ${shown.map((a) => (/^[\w./:-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`
  const hadMarker = existsSync(path.join(dir, MARKER_FILE))
  const started = performance.now()
  signal?.throwIfAborted()
  // The generator says "reused …" or "generated …"; its marker file (written last) is the proof
  // the tree is complete.
  const { stdout } = await run(process.execPath, args, { cwd: REPO_ROOT, timeout: 600_000, maxBuffer: 1024 * 1024, ...(signal === undefined ? {} : { signal }) })
  if (!existsSync(path.join(dir, MARKER_FILE))) throw new Error(`${command} ended without its marker file:\n${stdout.slice(-500)}`)
  const reused = hadMarker && /^reused /m.test(stdout)
  return { dir: path.resolve(dir), entries, reused, seconds: (performance.now() - started) / 1000, command }
}
