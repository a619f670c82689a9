/**
 * Times the disk store's start-up scan (not a test; no assertions on time live in tests).
 *
 *   node --import ./test/harness/ts-hooks.mjs test/harness/store/scan-timing.ts generate <dir> <count>
 *   node --import ./test/harness/ts-hooks.mjs test/harness/store/scan-timing.ts scan <dir> [scanProcesses]
 *
 * `scan` prints one JSON line: the scan report, wall time, and RSS / heap after indexing.
 */
import v8 from 'node:v8'
import type { Logger } from '../../../src/core/ports/index.js'
import { DiskStore } from '../../../src/store/disk/disk-store.js'
import { writeCacheEntries } from './fixtures.js'

const [command, dir, arg] = process.argv.slice(2)

const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (obj, msg) => process.stderr.write(`warn ${msg ?? ''} ${JSON.stringify(obj)}\n`),
  error: (obj, msg) => process.stderr.write(`error ${msg ?? ''} ${JSON.stringify(obj)}\n`),
  child: () => logger,
}

async function main(): Promise<void> {
  if (dir === undefined) throw new Error('usage: store-scan-timing generate|scan <dir> [count|scanProcesses]')
  if (command === 'generate') {
    const count = Number(arg ?? 100_000)
    const started = performance.now()
    await writeCacheEntries(dir, count, { pinnedEvery: 100 })
    process.stdout.write(`${JSON.stringify({ generated: count, ms: Math.round(performance.now() - started) })}\n`)
    return
  }
  if (command !== 'scan') throw new Error(`unknown command ${String(command)}`)
  const started = performance.now()
  const store = await DiskStore.open({ cacheDir: dir, logger, ...(arg === undefined ? {} : { scanProcesses: Number(arg) }) })
  const openMs = Math.round(performance.now() - started)
  const cpuMs = Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000)
  const afterOpen = process.memoryUsage()
  // Steady state: V8 shrinks its heap once the process is idle for a while (no forced GC here).
  await new Promise((resolve) => setTimeout(resolve, Number(process.env['SCAN_IDLE_MS'] ?? 15_000)))
  const memory = process.memoryUsage()
  process.stdout.write(
    `${JSON.stringify({
      openMs,
      report: store.scanReport,
      stats: store.stats(),
      cpuMs,
      rssAfterOpenMB: Math.round(afterOpen.rss / 2 ** 20),
      heapTotalAfterOpenMB: Math.round(afterOpen.heapTotal / 2 ** 20),
      rssIdleMB: Math.round(memory.rss / 2 ** 20),
      heapUsedIdleMB: Math.round(memory.heapUsed / 2 ** 20),
      heapTotalIdleMB: Math.round(memory.heapTotal / 2 ** 20),
      spacesMB: Object.fromEntries(
        v8.getHeapSpaceStatistics().map((space) => [space.space_name, [Math.round(space.space_used_size / 2 ** 20), Math.round(space.space_size / 2 ** 20)]]),
      ),
    })}\n`,
  )
  await store.close()
}

main().catch((err: unknown) => {
  process.stderr.write(`store-scan-timing failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
