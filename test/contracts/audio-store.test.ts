import { describeAudioStoreContract } from './audio-store-contract.js'
import { openTestStore } from '../harness/store/open-store.js'

// The start-up scan has two read paths (child processes, inline); a peer store exercises both.
for (const scanProcesses of [2, 0]) {
  describeAudioStoreContract(`DiskStore (scanProcesses ${scanProcesses})`, async () => {
    const { store, reopen } = await openTestStore({ scanProcesses })
    return { store, peer: () => reopen() }
  })
}
