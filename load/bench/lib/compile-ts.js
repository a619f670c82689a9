// @ts-check
/**
 * Two load generators are TypeScript that import the service's sources (load/esl-load.ts,
 * load/bench/cluster.ts, owned by the ESL and cluster work). The bench runs on plain Node
 * without a TS loader, so it compiles them first: tsc with the repository's tsconfig, type
 * checking off (`npm test` type-checks them), into load/.out/tsc/ — the same relative layout,
 * their `../../src/*.js` imports included. A few seconds; done once per run.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './ours.js'

const run = promisify(execFile)
export const COMPILED_DIR = path.join(REPO_ROOT, 'load/.out/tsc')

/**
 * Compiles the given repository-relative .ts files (those that exist) and returns, for each,
 * the absolute path of its compiled .js (undefined when the source does not exist).
 * @param {readonly string[]} files e.g. ['load/esl-load.ts']
 * @returns {Promise<Record<string, string | undefined>>}
 */
export async function compileTs(files) {
  const present = files.filter((f) => existsSync(path.join(REPO_ROOT, f)))
  /** @type {Record<string, string | undefined>} */
  const out = Object.fromEntries(files.map((f) => [f, undefined]))
  if (present.length === 0) return out
  mkdirSync(COMPILED_DIR, { recursive: true })
  const tsconfig = path.join(REPO_ROOT, 'load/.out/tsconfig.bench.json')
  writeFileSync(
    tsconfig,
    `${JSON.stringify(
      {
        extends: '../../tsconfig.json',
        compilerOptions: { rootDir: '../..', outDir: './tsc', noEmit: false, noCheck: true, sourceMap: false, declaration: false },
        include: [],
        files: present.map((f) => `../../${f}`),
      },
      null,
      2,
    )}\n`,
  )
  const tsc = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc')
  try {
    await run(process.execPath, [tsc, '-p', tsconfig], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 })
  } catch (err) {
    const e = /** @type {{ stdout?: string, stderr?: string, message: string }} */ (err)
    throw new Error(`tsc could not compile ${present.join(', ')}: ${(e.stdout ?? '') + (e.stderr ?? '') || e.message}`.slice(0, 2000))
  }
  for (const f of present) out[f] = path.join(COMPILED_DIR, f.replace(/\.ts$/, '.js'))
  return out
}
