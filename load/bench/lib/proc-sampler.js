// @ts-check
/**
 * Counts engine processes while a scenario runs, by sampling /proc from a worker thread
 * (so a busy event loop in the scenario does not skew the sampling). Only descendants of
 * `rootPid` count — found through /proc/<pid>/task/<tid>/children, which is cheap — so other
 * programs on the machine (another test run, say) running espeak-ng do not.
 *
 * Reports the peak number of matching processes alive at one sample, and how many distinct
 * matching processes were seen. A process shorter than the sampling interval can be missed,
 * so `distinct` is a lower bound; renders are counted exactly elsewhere.
 */
import { Worker } from 'node:worker_threads'

/**
 * @typedef {object} ProcSample
 * @property {number} peak most matching processes alive at one sample
 * @property {number} distinct distinct matching processes seen (lower bound)
 * @property {number} samples how many samples were taken
 */

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads')
const fs = require('node:fs')
const { rootPid, names, intervalMs, maxMs } = workerData
const wanted = new Set(names)
const sleeper = new Int32Array(new SharedArrayBuffer(4))
let stop = false
parentPort.on('message', () => { stop = true })
let peak = 0
let samples = 0
const seen = new Set()
const started = Date.now()
// Descendants of rootPid, through /proc/<pid>/task/<tid>/children (every thread of the root,
// since any of them may have spawned; the main thread of each descendant).
function descendants(pid, depth, out) {
  let tids
  try { tids = depth === 0 ? fs.readdirSync('/proc/' + pid + '/task') : [String(pid)] } catch { return }
  for (const tid of tids) {
    let list
    try { list = fs.readFileSync('/proc/' + pid + '/task/' + tid + '/children', 'latin1') } catch { continue }
    for (const c of list.split(' ')) {
      if (c === '' || c === '\n') continue
      const child = Number(c)
      out.push(child)
      if (depth < 16) descendants(child, depth + 1, out)
    }
  }
}
function sample() {
  const pids = []
  descendants(rootPid, 0, pids)
  let alive = 0
  for (const pid of pids) {
    let stat
    try { stat = fs.readFileSync('/proc/' + pid + '/stat', 'latin1') } catch { continue }
    const close = stat.lastIndexOf(')')
    const comm = stat.slice(stat.indexOf('(') + 1, close)
    if (!wanted.has(comm)) continue
    // State Z (zombie, not yet reaped) is no longer running.
    const fields = stat.slice(close + 2).split(' ')
    if (fields[0] === 'Z') continue
    alive++
    seen.add(pid + '@' + fields[19])
  }
  samples++
  if (alive > peak) peak = alive
}
let ready = false
function loop() {
  while (!stop && Date.now() - started < maxMs) {
    sample()
    if (!ready) { ready = true; parentPort.postMessage('ready') }
    Atomics.wait(sleeper, 0, 0, intervalMs)
    // Let the 'message' event (stop) be delivered between samples.
    if (samples % 4 === 0) return setImmediate(loop)
  }
  parentPort.postMessage({ peak, distinct: seen.size, samples })
}
loop()
`

/**
 * @param {{ names: readonly string[], rootPid?: number, intervalMs?: number, maxMs?: number }} options
 *   `names` are process names as in /proc/<pid>/comm (at most 15 characters).
 * @returns {Promise<{ stop(): Promise<ProcSample> }>} once the first sample is taken
 */
export async function startProcSampler(options) {
  const names = options.names.map((n) => n.slice(0, 15))
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { rootPid: options.rootPid ?? process.pid, names, intervalMs: options.intervalMs ?? 5, maxMs: options.maxMs ?? 600_000 },
  })
  /** @type {(value: void) => void} */
  let onReady = () => undefined
  /** @type {Promise<void>} */
  const ready = new Promise((resolve) => {
    onReady = resolve
  })
  /** @type {Promise<ProcSample>} */
  const result = new Promise((resolve, reject) => {
    worker.on('message', (m) => {
      if (m === 'ready') onReady()
      else resolve(/** @type {ProcSample} */ (m))
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`proc sampler exited (${code}) before reporting`)))
  })
  await Promise.race([ready, result])
  return {
    async stop() {
      worker.postMessage('stop')
      try {
        return await result
      } finally {
        await worker.terminate()
      }
    },
  }
}
