import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { expectTtsError, owned } from '../../contracts/audio-store-contract.js'
import { keyOf, listFiles, renderInto, slotMeta } from '../../harness/store/fixtures.js'
import { openTestStore } from '../../harness/store/open-store.js'

describe('DiskRenderSlot commit', () => {
  it('a sidecar that cannot be put in place fails the commit with TTS_ERR_STORE_IO; no WAV, temp file or lock is left', async () => {
    const { store, dir } = await openTestStore()
    const key = keyOf('sidecar blocked')
    const slot = owned(await store.claim(key))
    const leaf = path.dirname(slot.tempPath)
    // A non-empty directory where the sidecar goes: renaming the synced temp sidecar over it fails.
    await fs.mkdir(path.join(leaf, `${key}.json`))
    await fs.writeFile(path.join(leaf, `${key}.json`, 'in-the-way'), '')
    const rendered = await renderInto(slot)

    const err = await expectTtsError(slot.commit(slotMeta(), rendered), 'TTS_ERR_STORE_IO')
    expect(err.message).toContain(`publish sidecar ${path.join(leaf, `${key}.json`)}`)

    // The WAV was never published, and the sidecar's and WAV's temp files and the lock are gone.
    expect(await listFiles(dir)).toEqual([path.join(path.relative(dir, leaf), `${key}.json`, 'in-the-way')])
    expect(store.lookup(key)).toBeUndefined()
  })
})
