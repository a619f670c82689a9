/** Runs scan-worker.ts on worker threads (or inline) and feeds each batch to `onBatch` on this thread. */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { scanShards, type LeafReport, type ScanWorkerData } from './scan-worker.js'

// The worker file sits beside this one, with the same extension: .js when compiled, .ts when
// the sources run directly (tests); Node runs either (it strips types itself).
const WORKER_URL = new URL(`./scan-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url)

/** A worker can run the .ts source only where Node strips types (22.18+, 23.6+). */
const WORKERS_CAN_LOAD = !WORKER_URL.pathname.endsWith('.ts') || process.features.typescript !== false

/** Returns how many threads read the tree (0: it was read inline). */
export async function runScanThreads(data: ScanWorkerData, threads: number, onBatch: (batch: LeafReport[]) => void): Promise<number> {
  const count = WORKERS_CAN_LOAD ? Math.min(threads, data.tops.length) : 0
  if (count <= 0) {
    scanShards(data, onBatch)
    return 0
  }
  const workers: Worker[] = []
  const runs = Array.from({ length: count }, () => runWorker(data, onBatch, workers))
  try {
    await Promise.all(runs)
  } catch (err) {
    // One failed: stop the others, so nothing reaches onBatch after we return.
    await Promise.allSettled(workers.map((worker) => worker.terminate()))
    await Promise.allSettled(runs)
    throw err
  }
  return count
}

function runWorker(data: ScanWorkerData, onBatch: (batch: LeafReport[]) => void, workers: Worker[]): Promise<void> {
  return new Promise((resolve, reject) => {
    // A worker holds one batch at a time: a small heap is plenty, and what it grows to stays
    // in this process's RSS after it exits (allocator arenas).
    const worker = new Worker(WORKER_URL, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 64 } })
    workers.push(worker)
    let failure: unknown
    worker.on('message', (batch: LeafReport[]) => {
      if (failure !== undefined) return
      try {
        onBatch(batch)
      } catch (err) {
        failure = err
        worker.terminate().catch((stopErr: unknown) => {
          failure = new AggregateError([err, stopErr], 'a scan batch failed, then stopping its worker failed')
        })
      }
    })
    worker.on('error', (err) => {
      failure ??= err
    })
    worker.on('exit', (code) => {
      if (failure !== undefined) reject(failure instanceof Error ? failure : new Error(String(failure)))
      else if (code !== 0) reject(new Error(`scan worker exited with code ${code}`))
      else resolve()
    })
  })
}
