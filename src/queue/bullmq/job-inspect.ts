/**
 * One look at a render job in Redis, for the moments events cannot cover: right after an add
 * (the job may have finished under another retention setting), and after a reconnect or a
 * removal (events may have been lost).
 */
import { Job, type Queue } from 'bullmq'
import type { Logger, Priority } from '../../core/ports/index.js'
import { JOB_PRIORITY, parseJobResult, type RenderJobData, type RenderJobResult } from './job-codec.js'

/** How waiting for a job ended, from the node's point of view. */
export type WaitResult =
  | { readonly kind: 'completed'; readonly result: RenderJobResult | undefined }
  | { readonly kind: 'failed'; readonly failedReason: string }
  /** No outcome will come: add the job again. */
  | { readonly kind: 'vanished'; readonly reason: string }

export interface InspectJobOptions {
  readonly priority: Priority
  /** True after a recheck (reconnect, removal): a missing job then has vanished. */
  readonly missingMeansVanished: boolean
  readonly log: Logger
  /** Whether a worker holds the job's lock now (EXISTS `<job key>:lock`). */
  readonly lockHeld: (jobId: string) => Promise<boolean>
  readonly onFound?: ((data: RenderJobData) => void) | undefined
}

/**
 * Undefined: in flight (wait for its event). A missing job right after our add finished and was
 * removed after we subscribed, so its event is on the way; after a recheck (reconnect, removal)
 * a missing job has vanished. A finished job still present was kept by another retention
 * setting: completed counts, failed is removed (a failure never poisons the key). A live caller
 * raises a queued pre-warm job to live priority.
 *
 * An active job whose lock is gone has stalled: its worker died, or Redis froze for longer than
 * the lock (the worker cannot finish it: its lock is lost). BullMQ's stalled-job check would hand
 * it out again only at its next round (`stalledInterval`, 30 s by default), with every caller of
 * the key waiting meanwhile; it is removed here instead (BullMQ's remove refuses a locked job, so
 * this cannot take a job from a live worker) and added again by the caller.
 */
export async function inspectJob(queue: Queue, jobId: string, options: InspectJobOptions): Promise<WaitResult | undefined> {
  const { priority, missingMeansVanished, log } = options
  const job = await Job.fromId<RenderJobData, RenderJobResult>(queue, jobId)
  if (job === undefined) return missingMeansVanished ? { kind: 'vanished', reason: 'job not found' } : undefined
  options.onFound?.(job.data)
  if (job.processedOn !== undefined && job.finishedOn === undefined && !(await options.lockHeld(jobId))) {
    if (await removeStalled(job, log)) return { kind: 'vanished', reason: 'its worker lost the job lock (stalled)' }
  }
  if (job.finishedOn !== undefined) {
    const state = await job.getState()
    if (state === 'completed') return { kind: 'completed', result: parseJobResult(job.returnvalue) }
    if (state === 'failed') {
      await job.remove().catch((err: unknown) => log.debug({ err, jobId }, 'could not remove a kept failed job'))
      return { kind: 'vanished', reason: 'an earlier failed job was kept under this id' }
    }
  }
  if (priority === 'live') await raiseToLive(job, log)
  return undefined
}

/** Removes a stalled job; false when it could not be (a worker locked it again, or it finished meanwhile). */
async function removeStalled(job: Job, log: Logger): Promise<boolean> {
  try {
    await job.remove()
    log.info({ jobId: job.id }, 'render job stalled (its worker lost the lock); handing it out again')
    return true
  } catch (err) {
    log.debug({ err: err instanceof Error ? err.message : String(err), jobId: job.id }, 'stalled job could not be removed (locked again?)')
    return false
  }
}

/** Moves a job that no worker has taken yet to live priority (no-op otherwise). */
export async function raiseToLive(job: Job, log: Logger): Promise<void> {
  if (job.processedOn !== undefined || job.finishedOn !== undefined) return
  if (job.priority !== 0 && job.priority <= JOB_PRIORITY.live) return
  try {
    await job.changePriority({ priority: JOB_PRIORITY.live })
    log.debug({ jobId: job.id }, 'pre-warm job promoted: a live call waits for it')
  } catch (err) {
    log.debug({ err, jobId: job.id }, 'could not promote job (finished meanwhile?)')
  }
}

/** Removes a finished job kept under `jobId` (its audio is gone: the id must be free to re-add). */
export async function removeIfFinished(queue: Queue, jobId: string, log: Logger): Promise<void> {
  try {
    const job = await Job.fromId(queue, jobId)
    if (job !== undefined && job.finishedOn !== undefined) await job.remove()
  } catch (err) {
    log.debug({ err, jobId }, 'could not remove a finished job')
  }
}
