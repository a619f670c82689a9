import { afterEach } from 'vitest'
import { DiskStore } from '../../../src/store/disk/disk-store.js'
import type { DiskStoreOptions } from '../../../src/store/disk/options.js'
import { FakeClock } from '../../fakes/clock.js'
import { makeTempDir, removeDir } from './fixtures.js'
import { RecordingLogger } from '../../fakes/recording-logger.js'

export interface TestStore {
  readonly store: DiskStore
  readonly dir: string
  readonly logger: RecordingLogger
  readonly clock: FakeClock
  /** Opens another store on the same directory (a restart, or a second process's view). */
  reopen(overrides?: Partial<DiskStoreOptions>): Promise<DiskStore>
}

const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A store on a fresh temp dir, closed and deleted after the test. */
export async function openTestStore(overrides: Partial<DiskStoreOptions> = {}, dir?: string): Promise<TestStore> {
  const cacheDir = dir ?? (await makeTempDir())
  if (dir === undefined) cleanups.push(() => removeDir(cacheDir))
  const logger = new RecordingLogger()
  const clock = new FakeClock()
  const open = async (more: Partial<DiskStoreOptions> = {}): Promise<DiskStore> => {
    const store = await DiskStore.open({ cacheDir, logger, clock, ...overrides, ...more })
    cleanups.push(() => store.close())
    return store
  }
  const store = await open()
  return { store, dir: cacheDir, logger, clock, reopen: open }
}
