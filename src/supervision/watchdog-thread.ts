/**
 * The in-process watchdog's thread, started by `startLiveness` (./liveness.ts). The main
 * thread's event loop bumps a shared counter every beat; when the counter has not moved for
 * `watchdogMs` while this thread kept running, the event loop is blocked (a busy loop, a
 * synchronous call that never returns): this thread writes one log line and SIGKILLs the
 * process. The kernel then closes the listening and call sockets, so FreeSWITCH's socket()
 * fails over to the fallback at once instead of waiting out its own 25 s connect timeout, and a
 * supervisor (systemd `Restart=always`, `serve --supervise`) starts a fresh process.
 *
 * A whole process that stops (SIGSTOP, a frozen VM) stops this thread too: it cannot act then
 * (systemd's WatchdogSec or `--supervise` can). When this thread itself has not run for a while,
 * it starts the window again instead of blaming the event loop for the machine's stall.
 *
 * Only `node:` imports: the thread runs from the .ts sources in tests as from dist/.
 */
import { writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'

export interface WatchdogThreadData {
  /** Int32Array(1) over it: the main thread's beat counter. */
  readonly beats: SharedArrayBuffer
  /** Kill when the counter has not moved for this long (ms). */
  readonly watchdogMs: number
  /** How often this thread looks (ms). */
  readonly pollMs: number
}

const data = workerData as WatchdogThreadData
const counter = new Int32Array(data.beats)
/** This thread missed its own polls by more than this: the process, not the loop, was stalled. */
const OWN_STALL_MS = Math.max(250, data.pollMs * 3)

let lastCount = Atomics.load(counter, 0)
let lastMoveAt = performance.now()
let lastPollAt = lastMoveAt

function killProcess(blockedMs: number): void {
  const line = {
    level: 60,
    time: Date.now(),
    pid: process.pid,
    hostname: hostname(),
    component: 'watchdog',
    blockedMs: Math.round(blockedMs),
    watchdogMs: data.watchdogMs,
    msg: 'event loop blocked: killing the process (SIGKILL) so that calls fail over to the fallback at once',
  }
  try {
    writeSync(1, `${JSON.stringify(line)}\n`)
  } finally {
    process.kill(process.pid, 'SIGKILL')
  }
}

const timer = setInterval(() => {
  const now = performance.now()
  const count = Atomics.load(counter, 0)
  if (count !== lastCount || now - lastPollAt > OWN_STALL_MS) {
    lastCount = count
    lastMoveAt = now
  } else if (now - lastMoveAt >= data.watchdogMs) {
    killProcess(now - lastMoveAt)
  }
  lastPollAt = now
}, data.pollMs)

parentPort?.once('message', () => {
  clearInterval(timer)
  parentPort?.close()
})
