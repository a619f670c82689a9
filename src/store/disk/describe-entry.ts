/**
 * `DiskStore.describe`: an entry with its text from the sidecar. During a background scan (or
 * when the indexed entry went stale) a key the index does not hold is looked for on disk and
 * indexed when found.
 */
import type { DescribedEntry } from '../../core/ports/index.js'
import { entryFields, readSidecar } from './entry-files.js'
import { staleReasonOf } from './file-identity.js'
import { storeIoError } from './fs-util.js'
import type { StoreParts } from './store-parts.js'

export async function describeEntry(p: StoreParts, key: string): Promise<DescribedEntry | undefined> {
  let indexed = p.index.peek(key)
  const stale = indexed === undefined ? undefined : staleReasonOf(indexed)
  if (indexed !== undefined && stale !== undefined) {
    p.dropStale(indexed, stale)
    indexed = undefined
  }
  if (indexed === undefined && (p.scan.pending || stale !== undefined)) {
    p.scan.touch(key)
    const read = await p.claimHost.read(key)
    if (read.status !== 'ok' || p.index.isExpired(read.entry)) return undefined
    const found = p.indexFound(read.entry)
    return { ...entryFields(found), path: found.path, text: read.text }
  }
  if (indexed === undefined) return undefined
  const meta = await readSidecar(p.layout, key).catch((err: unknown) => {
    throw storeIoError(err, 'read', p.layout.sidecarPath(key))
  })
  // The text is part of the key: any valid sidecar of this key has the same one.
  return meta === undefined ? undefined : { ...entryFields(indexed), path: indexed.path, text: meta.text }
}
