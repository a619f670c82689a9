// @ts-check
/** What run-all.js hands every scenario. */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { REPO_ROOT, startOurs } from '../lib/ours.js'

/**
 * @typedef {object} ScenarioContext
 * @property {string} workDir an empty directory of the scenario's own
 * @property {string} repoRoot
 * @property {boolean} quick smaller sizes (smoke runs); numbers are then meaningless
 * @property {AbortSignal} signal aborts when the scenario's time budget is spent
 * @property {(options: import('../lib/ours.js').OursOptions) => Promise<import('../lib/ours.js').Ours>} startOurs
 * @property {(message: string) => void} progress one line to stderr
 * @property {() => Promise<void>} settle a short pause between measured runs (children reaped, caches quiet)
 */

/**
 * @param {{ workDir: string, quick?: boolean, signal: AbortSignal, progress?: (m: string) => void, buildApp?: (config: any, overrides: any) => Promise<any> }} options
 * @returns {ScenarioContext}
 */
export function scenarioContext(options) {
  mkdirSync(options.workDir, { recursive: true })
  const buildApp = options.buildApp
  return {
    workDir: options.workDir,
    repoRoot: REPO_ROOT,
    quick: options.quick === true,
    signal: options.signal,
    startOurs: (o) => startOurs(buildApp === undefined ? o : { ...o, buildApp }),
    progress: options.progress ?? ((m) => process.stderr.write(`  · ${m}\n`)),
    settle: () => sleep(options.quick === true ? 20 : 300),
  }
}

/** @param {ScenarioContext} ctx @param {string} name */
export function subDir(ctx, name) {
  const dir = path.join(ctx.workDir, name)
  mkdirSync(dir, { recursive: true })
  return dir
}
