/**
 * The shared audio tier of a cluster: how a WAV one render worker made reaches the node that
 * asked for it. Two implementations (src/store/shared/): Redis (the worker publishes the bytes,
 * every node copies them into its own disk cache, entries expire) and a shared directory (every
 * node and worker mounts the cache dir at the same path; the worker renames its file onto the
 * asking node's temp path, and the disk cache itself is the shared tier).
 *
 * The render queue (src/queue/bullmq) uses the node side, the render worker the worker side; the
 * queue never asks which tier it talks to.
 */
import type { RenderedAudio } from './renderer.js'

/** How the finished WAV reaches the node that asked; carried in job data and results. */
export type AudioTransport = 'redis' | 'shared-dir'

/** A complete WAV held by the tier. */
export interface SharedWav {
  readonly wav: Buffer
  readonly durationMs: number
}

/**
 * What a finished job left for the asking node: the file is already at its output path
 * (`in-place`), or bytes to copy there (`bytes`).
 */
export type SharedDelivery = { readonly kind: 'in-place'; readonly audio: RenderedAudio } | { readonly kind: 'bytes'; readonly wav: SharedWav }

/** What the worker made: a checked, canonical WAV at `path` (a staging path from `stagingPath`). */
export interface StagedWav {
  readonly path: string
  readonly wav: Buffer
  readonly durationMs: number
}

export interface SharedAudio {
  readonly transport: AudioTransport

  // ── asking node ──
  /**
   * Audio already published for `key`, usable at `sampleRate` (a complete canonical WAV); an
   * unusable entry is dropped and answered as absent. Undefined when absent (never published,
   * expired, evicted) and always for a tier that holds nothing apart from the disk cache.
   */
  findPublished(key: string, sampleRate: number): Promise<SharedWav | undefined>
  /** What the job tells the worker about where the asking node wants the file (the shared dir: `outPath`). */
  jobTarget(outPath: string): string | undefined
  /**
   * After the job completed (`finished` is its result, when it had one): the audio, or undefined
   * when it is gone (evicted before we fetched it: render again).
   */
  collect(key: string, sampleRate: number, finished: Pick<RenderedAudio, 'bytes' | 'durationMs'> | undefined): Promise<SharedDelivery | undefined>
  /** Writes fetched bytes to a render slot's temp path (the slot validates, fsyncs and renames it). */
  writeTo(outPath: string, audio: SharedWav): Promise<RenderedAudio>

  // ── render worker ──
  /** Raw published audio for `key` (no validity check), or undefined; the worker's reuse check. */
  fetch(key: string): Promise<SharedWav | undefined>
  /**
   * Where the worker renders before publishing. `target` is the job's `jobTarget`; throws
   * TTS_ERR_BAD_REQUEST when it is not a path this tier may write (it comes from Redis).
   */
  stagingPath(key: string, target: string | undefined, unique: string): Promise<string>
  /** Makes the staged WAV visible to the asking node in one step (one MULTI, one rename). */
  publish(key: string, staged: StagedWav, target: string | undefined): Promise<void>
  /** Drops the published entry of `key` (absent: nothing happens). */
  remove(key: string): Promise<void>
}
