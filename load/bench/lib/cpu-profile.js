// @ts-check
/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self
 * time, with their file:line — what RESULTS.md shows when a goal is missed.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * @typedef {object} ProfileNode
 * @property {number} id
 * @property {{ functionName: string, url: string, lineNumber: number }} callFrame
 * @property {number} [hitCount]
 * @property {number[]} [children]
 */

/**
 * @typedef {object} TopFunction
 * @property {string} name
 * @property {string} where
 * @property {number} selfMs
 * @property {number} selfPct
 */

/** CLOCK_MONOTONIC in µs: the clock V8 stamps profile samples with (same in every process). */
export function monotonicUs() {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * @param {{ nodes: ProfileNode[], samples?: number[], timeDeltas?: number[], startTime: number, endTime: number }} profile
 * @param {number} [top]
 * @param {{ fromUs: number, toUs: number }} [window] only samples in this window (monotonicUs()
 *   taken around the load), e.g. to leave out a server's start-up
 * @param {string} [root] paths are shown relative to this
 * @returns {{ totalMs: number, top: TopFunction[], idlePct: number, gcPct: number }}
 */
export function summarizeCpuProfile(profile, top = 15, window = undefined, root = process.cwd()) {
  /** @type {Map<number, number>} */
  const selfUs = new Map()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  let t = profile.startTime
  let totalUs = 0
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0
    const id = /** @type {number} */ (samples[i])
    // The delta before the next sample is the time attributed to this one.
    const dt = Math.max(0, deltas[i + 1] ?? 0)
    if (window !== undefined && (t < window.fromUs || t > window.toUs)) continue
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt)
    totalUs += dt
  }
  totalUs = Math.max(1, totalUs)
  /** @type {Map<string, TopFunction>} */
  const byFunction = new Map()
  let idleUs = 0
  let gcUs = 0
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0
    if (us === 0) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') idleUs += us
    if (functionName === '(garbage collector)') gcUs += us
    const file = url.startsWith('file://') ? path.relative(root, new URL(url).pathname) : url
    const where = file === '' ? '' : `${file}:${lineNumber + 1}`
    const name = functionName === '' ? '(anonymous)' : functionName
    const id = `${name}@${where}`
    const entry = byFunction.get(id) ?? { name, where, selfMs: 0, selfPct: 0 }
    entry.selfMs += us / 1000
    byFunction.set(id, entry)
  }
  const list = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs)
  for (const f of list) f.selfPct = (f.selfMs * 1000 * 100) / totalUs
  return { totalMs: totalUs / 1000, top: list.slice(0, top), idlePct: (idleUs * 100) / totalUs, gcPct: (gcUs * 100) / totalUs }
}

/**
 * Summarises the main thread's profile in `dir` (`--cpu-prof` names files
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile and writes one per thread; workers have
 * thread ids above 0). The newest main-thread file wins.
 * @param {string} dir
 * @param {number} [top]
 * @param {{ fromUs: number, toUs: number }} [window]
 */
export async function summarizeNewestProfile(dir, top = 15, window = undefined) {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort()
  const main = files.filter((f) => f.split('.')[4] === '0')
  const chosen = (main.length > 0 ? main : files).at(-1)
  if (chosen === undefined) throw new Error(`no .cpuprofile in ${dir}`)
  const profile = JSON.parse(await readFile(path.join(dir, chosen), 'utf8'))
  return { file: path.join(dir, chosen), ...summarizeCpuProfile(profile, top, window) }
}

/**
 * Markdown for RESULTS.md.
 * @param {{ totalMs: number, top: TopFunction[], idlePct: number, gcPct: number }} summary
 * @param {string} title
 */
export function profileMarkdown(summary, title) {
  const lines = [
    `<details><summary>${title}: CPU profile, top functions by self time (${(summary.totalMs / 1000).toFixed(1)} s profiled, ${summary.idlePct.toFixed(0)}% idle, ${summary.gcPct.toFixed(0)}% GC)</summary>`,
    '',
    '| self ms | self % | function | where |',
    '|---:|---:|---|---|',
    ...summary.top.map((f) => `| ${f.selfMs.toFixed(0)} | ${f.selfPct.toFixed(1)} | \`${f.name}\` | ${f.where === '' ? '' : `\`${f.where}\``} |`),
    '',
    '</details>',
  ]
  return lines.join('\n')
}
