/** Runs scan-worker.ts in child processes (or inline) and feeds each batch to `onBatch` here. */
import { fork, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SCAN_CHILD_FLAG, scanShards, type LeafReport, type ScanChildMessage, type ScanWorkerData } from './scan-worker.js'

// The child's file sits beside this one, with the same extension: .js when compiled, .ts when
// the sources run directly (tests); Node runs either (it strips types itself).
const CHILD_PATH = fileURLToPath(new URL(`./scan-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url))

/** A child can run the .ts source only where Node strips types (22.18+, 23.6+). */
const CHILDREN_CAN_LOAD = !CHILD_PATH.endsWith('.ts') || process.features.typescript !== false

/** The last bytes of a failed child's stderr kept in the error. */
const STDERR_TAIL_BYTES = 2048

/**
 * Reads the tree in up to `processes` children, each taking every n-th top-level shard (keys
 * are hashes: the shards are even), and returns how many ran (0: it was read inline, blocking
 * this thread). `signal` kills the children (the promise rejects with its reason); nothing
 * reaches `onBatch` after the promise settles.
 */
export async function runScanProcesses(
  data: ScanWorkerData,
  processes: number,
  onBatch: (batch: LeafReport[]) => void,
  signal?: AbortSignal,
): Promise<number> {
  signal?.throwIfAborted()
  const count = CHILDREN_CAN_LOAD ? Math.min(processes, data.tops.length) : 0
  if (count <= 0) {
    for (const batch of scanShards(data)) onBatch(batch)
    return 0
  }
  const children: ChildProcess[] = []
  let stopped = false
  const deliver = (batch: LeafReport[]): void => {
    if (!stopped) onBatch(batch)
  }
  const runs = Array.from({ length: count }, (_, i) =>
    runChild({ ...data, tops: data.tops.filter((_, j) => j % count === i) }, deliver, children),
  )
  const stopAll = (): void => {
    stopped = true
    for (const child of children) child.kill('SIGKILL')
  }
  signal?.addEventListener('abort', stopAll, { once: true })
  try {
    await Promise.all(runs)
  } catch (err) {
    // One failed (or all were stopped): stop the others, so nothing reaches onBatch after we return.
    stopAll()
    await Promise.allSettled(runs)
    if (signal?.aborted === true) throw signal.reason
    throw err
  } finally {
    signal?.removeEventListener('abort', stopAll)
  }
  return count
}

/** Nice value of a scan child: background work, the service's own thread goes first. */
const SCAN_CHILD_NICENESS = 10

/** Best effort: a platform or sandbox that refuses leaves the child at normal priority. */
function lowerPriority(child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    os.setPriority(child.pid, SCAN_CHILD_NICENESS)
  } catch {
    // Not worth a log line: the scan is only slower to give way.
  }
}

function runChild(data: ScanWorkerData, onBatch: (batch: LeafReport[]) => void, children: ChildProcess[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // No inherited execArgv (a test runner's loaders, inspector ports); advanced serialization
    // sends the batches as structured clones, not JSON.
    const child = fork(CHILD_PATH, [SCAN_CHILD_FLAG], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    children.push(child)
    lowerPriority(child)
    let stderr = ''
    let done = false
    let failure: unknown
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES)
    })
    child.on('message', (message: ScanChildMessage) => {
      if (failure !== undefined) return
      if ('done' in message) {
        done = true
        return
      }
      try {
        onBatch(message.batch)
      } catch (err) {
        failure = err
        child.kill('SIGKILL')
      }
    })
    child.on('error', (err) => {
      failure ??= err
    })
    child.send(data)
    // 'close': the process has exited and its stdio and IPC channel are drained.
    child.on('close', (code, signal) => {
      if (failure !== undefined) reject(failure instanceof Error ? failure : new Error(String(failure)))
      else if (code !== 0 || !done) reject(new Error(`scan child exited with ${signal ?? `code ${code}`}${stderr === '' ? '' : `: ${stderr.trim()}`}`))
      else resolve()
    })
  })
}
