/**
 * A render worker in its own process, with the counting fixture engine.
 *   argv: <redisUrl> <prefix> <mode>
 *     mode 'hold': every render waits for {cmd:'release'}; each start is reported
 *     mode 'hang': a render writes half a WAV to its temp file, reports, and never finishes
 *                  (the test SIGKILLs the process: a worker dying mid-job)
 *   stdout: {type:'ready'} · {type:'started', key, outPath} · {type:'stats', runs}
 *   stdin:  {cmd:'release'} · {cmd:'stats'} · {cmd:'exit'}
 * Stall detection is short (FAST_STALL) so a killed worker's job is retried within a test.
 */
import { writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import type { RenderJob, RenderedAudio } from '../../src/core/ports/index.js'
import { BullMqRenderWorker } from '../../src/queue/bullmq/render-worker.js'
import { CountingRenderer, FAST_STALL, testLogger, wavFor } from '../support/redis-fixtures.js'
import { redisSharedAudio } from '../../src/app/shared-audio-tier.js'

const [redisUrl = '', prefix = '', mode = 'hold'] = process.argv.slice(2)

function say(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

const counting = new CountingRenderer()
if (mode === 'hold') counting.hold()

async function hang(job: RenderJob): Promise<RenderedAudio> {
  counting.runs++
  // Half a WAV in the temp file: what a worker leaves behind when it dies mid-render.
  await writeFile(job.outPath, wavFor(job.request.text).subarray(0, 100))
  say({ type: 'started', key: job.key, outPath: job.outPath })
  return new Promise<RenderedAudio>(() => undefined)
}

async function held(job: RenderJob, signal: AbortSignal): Promise<RenderedAudio> {
  const rendering = counting.render(job, signal)
  say({ type: 'started', key: job.key, outPath: job.outPath })
  return rendering
}

const worker = new BullMqRenderWorker({
  redisUrl,
  prefix,
  sharedAudio: redisSharedAudio(prefix, 600),
  concurrency: 2,
  renderer: mode === 'hang' ? hang : held,
  logger: testLogger(),
  name: `child-${process.pid}`,
  lockDurationMs: FAST_STALL.lockDurationMs,
  stalledIntervalMs: FAST_STALL.stalledIntervalMs,
  maxStalledCount: FAST_STALL.maxStalledCount,
})
await worker.whenReady()
say({ type: 'ready' })

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { cmd: string }
  if (command.cmd === 'release') counting.release()
  else if (command.cmd === 'stats') say({ type: 'stats', runs: counting.runs })
  else if (command.cmd === 'exit') {
    counting.release()
    await worker.close(2000)
    process.exit(0)
  }
}
