#!/usr/bin/env node
// @ts-check
/**
 * What a verified hit costs: DiskStore.lookup (index + one sync stat of the WAV, compared with
 * the entry's size and file tag) against the index alone (peek: no stat) and a bare fs.statSync,
 * over every key of a 100,000-entry cache (load/gen-cache-dir.js, made once and reused).
 *
 *   npm run build && node load/bench/store-lookup.js
 *   node load/bench/store-lookup.js --entries 100000 --rounds 5 --dir /tmp/tts-lookup-100k
 *   node load/bench/store-lookup.js --dist /path/to/other/checkout/dist   # the same against another build
 *
 * Prints ns per operation for each round (the first round after the open is shown apart: it
 * warms V8 and the dentry cache) and the median of the rest. Plain ESM run from dist/.
 */
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { generateCacheDir } from '../gen-cache-dir.js'
import { REPO_ROOT } from './lib/ours.js'

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/tts-lookup-100k' },
    entries: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    dist: { type: 'string', default: path.join(REPO_ROOT, 'dist') },
  },
})
const entries = Number(values.entries)
const rounds = Number(values.rounds)
const { buildApp, loadConfig } = await import(pathToFileURL(path.join(path.resolve(values.dist), 'app/index.js')).href)

generateCacheDir({ dir: values.dir, entries })
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }
// The store of an app built as the service builds it (buildApp; a one-shot app indexes the whole
// directory before it returns), with a fixed catalog and no renderer: this bench renders nothing.
const catalog = { versionOf: () => 'bench', checkVoice() {}, ids: () => ['espeak-ng'] }
const app = await buildApp(loadConfig({ env: {}, overrides: { cacheDir: values.dir, maxCacheBytes: 1024 ** 4 } }), {
  logger: silent,
  defaultMetrics: false,
  engines: catalog,
  renderer: async () => {
    throw new Error('store-lookup renders nothing')
  },
})
const store = app.store
/** @type {string[]} */
const keys = [...store.entries()].map((/** @type {{ key: string }} */ e) => e.key)
const paths = keys.map((k) => store.pathFor(k))
if (keys.length !== entries) throw new Error(`indexed ${keys.length} of ${entries} entries`)

/** @param {(i: number) => unknown} op @returns {number} ns per op */
function time(op) {
  let misses = 0
  const started = process.hrtime.bigint()
  for (let i = 0; i < keys.length; i++) if (op(i) === undefined) misses++
  const ns = Number(process.hrtime.bigint() - started) / keys.length
  if (misses > 0) throw new Error(`${misses} misses`)
  return ns
}

const ops = {
  'index only (peek)': (/** @type {number} */ i) => store.peek(keys[i]),
  'lookup (index + stat)': (/** @type {number} */ i) => store.lookup(keys[i]),
  'fs.statSync alone': (/** @type {number} */ i) => fs.statSync(/** @type {string} */ (paths[i]), { throwIfNoEntry: false }),
}
/** @type {Record<string, number[]>} */
const results = {}
for (let r = 0; r < rounds + 1; r++) {
  for (const [name, op] of Object.entries(ops)) (results[name] ??= []).push(time(op))
}
const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN
process.stdout.write(`${keys.length} entries in ${values.dir}; dist ${values.dist}; ns per operation\n`)
process.stdout.write('| operation | first round | rounds | median |\n| --- | ---: | --- | ---: |\n')
for (const [name, xs] of Object.entries(results)) {
  process.stdout.write(`| ${name} | ${xs[0]?.toFixed(0)} | ${xs.slice(1).map((x) => x.toFixed(0)).join(', ')} | ${median(xs.slice(1)).toFixed(0)} |\n`)
}
await app.close()
