import { describeAudioStoreContract } from '../support/store-contract.js'
import { openTestStore } from './open-store.js'

// The start-up scan has two read paths (worker threads, inline); a peer store exercises both.
for (const scanThreads of [2, 0]) {
  describeAudioStoreContract(`DiskStore (scanThreads ${scanThreads})`, async () => {
    const { store, reopen } = await openTestStore({ scanThreads })
    return { store, peer: () => reopen() }
  })
}
