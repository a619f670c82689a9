/**
 * The render stage of the BullMQ render queue, one call of `render`: (1) if the audio is already
 * published, copy it (a cluster hit); (2) else subscribe to the job id, add the job (a no-op when
 * another node already added it), look at it once (closes the race with a job that finished
 * before we subscribed, promotes pre-warm work a live call now waits for), and wait for its
 * `completed`/`failed` event; (3) collect the audio into `job.outPath`. A job that vanished or
 * whose audio is gone is added again, up to `maxRounds`.
 */
import type { Queue } from 'bullmq'
import type { Logger, RenderedAudio, RenderJob, SharedAudio, SharedWav } from '../../core/ports/index.js'
import type { RedisClient } from '../../redis/redis-connections.js'
import { raceSignal } from './abortable.js'
import type { JobFinishWaiters, JobWaiter } from './finish-waiters.js'
import { decodeFailure, JOB_PRIORITY, jobIdFor, RENDER_JOB_NAME, type RenderJobData } from './job-codec.js'
import { inspectJob, removeIfFinished, type WaitResult } from './job-inspect.js'
import { unavailable } from './queue-errors.js'
import { BULLMQ_QUEUE_DEFAULTS, type ClusterRenderOptions } from './queue-options.js'

/** What a render needs from its queue. */
export interface RoundsHost {
  readonly ready: Promise<void>
  readonly queue: Queue
  readonly producer: RedisClient
  readonly shared: SharedAudio
  /** The events reader's waiters, once it runs. */
  waiters(): JobFinishWaiters | undefined
  readonly nodeId: string
  readonly log: Logger
  /** Counters of the queue (mutated). */
  readonly counters: { sharedHits: number; jobsAdded: number }
  /** Writes fetched bytes into `job.outPath` (checks the signal and `claimOutput` first). */
  materialise(job: RenderJob, audio: SharedWav, options: ClusterRenderOptions, signal: AbortSignal): Promise<RenderedAudio>
}

export async function renderRounds(host: RoundsHost, job: RenderJob, options: ClusterRenderOptions, signal: AbortSignal): Promise<RenderedAudio> {
  const jobId = jobIdFor(job.key)
  const log = host.log
  for (let round = 1; round <= BULLMQ_QUEUE_DEFAULTS.maxRounds; round++) {
    await raceSignal(host.ready, signal, log, 'queue start')
    const refresh = options.refresh === true && round === 1
    if (!refresh) {
      const published = await raceSignal(host.shared.findPublished(job.key, job.request.sampleRate), signal, log, 'audio fetch')
      if (published !== undefined) {
        options.onAccepted?.()
        host.counters.sharedHits++
        return { ...(await host.materialise(job, published, options, signal)), origin: 'cached' }
      }
    }
    const { outcome, joined } = await enqueueAndWait(host, jobId, job, options, refresh, signal)
    const origin = joined ? 'joined' : 'rendered'
    if (outcome.kind === 'failed') throw decodeFailure(jobId, outcome.failedReason, job.request.engine)
    if (outcome.kind === 'completed') {
      const delivered = await raceSignal(host.shared.collect(job.key, job.request.sampleRate, outcome.result), signal, log, 'audio fetch')
      if (delivered?.kind === 'in-place') return { ...delivered.audio, origin }
      if (delivered !== undefined) return { ...(await host.materialise(job, delivered.wav, options, signal)), origin }
      log.warn({ key: job.key }, 'job completed but its audio is gone (evicted?); rendering again')
      await removeIfFinished(host.queue, jobId, log)
      continue
    }
    log.info({ key: job.key, reason: outcome.reason, round }, 'render job vanished; adding it again')
  }
  throw unavailable(`the render job for ${job.key} produced no audio after ${BULLMQ_QUEUE_DEFAULTS.maxRounds} tries`)
}

/** `joined`: the job under this id had been added by another node (BullMQ dedupes by id). */
async function enqueueAndWait(host: RoundsHost, jobId: string, job: RenderJob, options: ClusterRenderOptions, refresh: boolean, signal: AbortSignal): Promise<{ outcome: WaitResult; joined: boolean }> {
  const waiters = host.waiters()
  if (waiters === undefined) throw unavailable('queue events are not running')
  // Subscribe first: any outcome of the job we are about to add or join arrives after this.
  const waiter: JobWaiter = waiters.register(jobId)
  try {
    const target = host.shared.jobTarget(job.outPath)
    const data: RenderJobData = {
      v: 1,
      key: job.key,
      request: job.request,
      engineVersion: job.engineVersion,
      refresh,
      node: host.nodeId,
      ...(target === undefined ? {} : { sharedOutPath: target }),
    }
    await raceSignal(host.queue.add(RENDER_JOB_NAME, data, { jobId, priority: JOB_PRIORITY[options.priority] }), signal, host.log, 'job add')
    // BullMQ's add() of an existing id returns our own data, not the stored job's: the stored
    // job (read by the first inspection) says which node added it. If it already finished and
    // was removed, we cannot tell, and report `rendered`.
    let joined = false
    const seenJob = (stored: RenderJobData): void => {
      joined = stored.node !== host.nodeId
    }
    host.counters.jobsAdded++
    options.onAccepted?.()
    let missingMeansVanished = false
    for (;;) {
      const seen = await raceSignal(
        inspectJob(host.queue, jobId, {
          priority: options.priority,
          missingMeansVanished,
          log: host.log,
          lockHeld: async (id) => (await host.producer.exists(`${host.queue.toKey(id)}:lock`)) === 1,
          onFound: missingMeansVanished ? undefined : seenJob,
        }),
        signal,
        host.log,
        'job inspect',
      )
      if (seen !== undefined) return { outcome: seen, joined }
      const outcome = await raceSignal(waiter.next(), signal, host.log, 'job wait')
      if (outcome.kind !== 'recheck') return { outcome, joined }
      missingMeansVanished = true
    }
  } finally {
    waiter.dispose()
  }
}
