/**
 * Finished WAVs shared through one cache directory that every node and worker mounts at the same
 * path (config clusterAudio `shared-dir`): the asking node puts its render slot's temp path in the
 * job, the worker renders next to it and renames its file onto it. The disk cache is itself the
 * shared tier, so there is never anything to fetch apart from it.
 */
import path from 'node:path'
import { rename } from 'node:fs/promises'
import { TtsError } from '../../core/errors.js'
import type { RenderedAudio, SharedAudio, SharedDelivery, SharedWav, StagedWav } from '../../core/ports/index.js'
import { writeSharedWav } from './shared-wav.js'

export interface SharedDirAudioOptions {
  /** The cache dir every node and worker mounts at the same path; needed on the worker side only. */
  readonly root?: string | undefined
}

export class SharedDirAudio implements SharedAudio {
  readonly transport = 'shared-dir'
  readonly #root: string | undefined

  constructor(options: SharedDirAudioOptions = {}) {
    this.#root = options.root === undefined ? undefined : path.resolve(options.root)
  }

  findPublished(): Promise<undefined> {
    return Promise.resolve(undefined)
  }

  /** The worker writes straight into the asking node's slot, on the shared file system. */
  jobTarget(outPath: string): string {
    return outPath
  }

  /** The worker renamed its file onto the job's output path: nothing to copy. */
  collect(_key: string, _sampleRate: number, finished: Pick<RenderedAudio, 'bytes' | 'durationMs'> | undefined): Promise<SharedDelivery | undefined> {
    return Promise.resolve(finished === undefined ? undefined : { kind: 'in-place', audio: { bytes: finished.bytes, durationMs: finished.durationMs } })
  }

  writeTo(outPath: string, audio: SharedWav): Promise<RenderedAudio> {
    return writeSharedWav(outPath, audio)
  }

  fetch(): Promise<undefined> {
    return Promise.resolve(undefined)
  }

  stagingPath(key: string, target: string | undefined, unique: string): Promise<string> {
    const root = this.#root ?? '/nonexistent'
    // The path comes from Redis: never write outside the shared cache dir, never to a foreign name.
    if (target === undefined || !path.resolve(target).startsWith(root + path.sep) || !path.basename(target).startsWith(key)) {
      return Promise.reject(new TtsError('TTS_ERR_BAD_REQUEST', { args: ['shared-dir job target is outside the shared cache dir'] }))
    }
    // A name the store does not treat as its own temp file: a scan on another host must not delete it.
    return Promise.resolve(path.join(path.dirname(path.resolve(target)), `.${key}.worker-${unique}.wav`))
  }

  /** Same directory as the node's slot temp file: the rename is atomic, even on NFS. */
  async publish(_key: string, staged: StagedWav, target: string | undefined): Promise<void> {
    await rename(staged.path, target ?? '')
  }

  /** The entry is the node's own cache file: its disk store removes it. */
  remove(): Promise<void> {
    return Promise.resolve()
  }
}
