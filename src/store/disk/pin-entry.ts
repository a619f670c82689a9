/** Pinning: an indexed entry leaves the LRU and its sidecar says so atomically (a restart keeps it). */
import { TtsError } from '../../core/errors.js'
import type { CacheIndex } from './cache-index.js'
import { cacheEntryOf, entryFields, readSidecar } from './entry-files.js'
import { fsyncDir, storeIoError, writeFileAtomic } from './fs-util.js'
import type { CacheLayout } from './layout.js'
import { encodeSidecar } from './sidecar.js'

/**
 * See DiskStore.pin. `touch` marks the key as the store's own during a background scan (called
 * once the key is known to be indexed).
 */
export async function pinEntry(index: CacheIndex, layout: CacheLayout, key: string, touch: (key: string) => void): Promise<void> {
  const notFound = (): TtsError => new TtsError('TTS_ERR_NOT_FOUND', { args: [`cache entry ${key}`] })
  if (index.peek(key) === undefined) throw notFound()
  touch(key)
  // The text lives in the sidecar only; the rest of the new sidecar comes from the index entry.
  const meta = await readSidecar(layout, key).catch((err: unknown) => {
    throw storeIoError(err, 'read', layout.sidecarPath(key))
  })
  const entry = index.peek(key)
  if (entry === undefined || meta === undefined) throw notFound()
  if (entry.pinned) return
  const pinned = cacheEntryOf(layout, { ...entryFields(entry), pinned: true })
  // Move it out of the LRU first, so no eviction deletes its files while the sidecar is written.
  index.add(pinned)
  try {
    await writeFileAtomic(layout.tempPath(key, 'json'), layout.sidecarPath(key), encodeSidecar({ ...entryFields(entry), text: meta.text, pinned: true }))
    await fsyncDir(layout.dirOf(key))
  } catch (err) {
    if (index.peek(key) === pinned) index.add(entry)
    throw storeIoError(err, 'pin', layout.sidecarPath(key))
  }
}
