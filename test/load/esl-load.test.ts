import { afterEach, describe, expect, it } from 'vitest'
import { runEslLoad } from '../../load/esl-load.js'
import { startHook } from '../harness/esl/hook.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('load/esl-load.ts against the real hook', () => {
  it('simulates the shipped macro closely enough that every call gets its file in one round trip', async () => {
    const hook = await startHook({}, cleanups)
    const result = await runEslLoad({ port: hook.port, channels: 4, phrases: 3, zipfS: 1, calls: 24, deadlineMs: 10_000, seed: 3 })
    // The generator does not answer getvar: had it written a text the service must read back
    // (not wrapped as the macro wraps it), those calls would time out and count as failed.
    expect(result.failed).toBe(0)
    expect(result.completed).toBe(24)
    expect(result.withFile).toBe(24)
    expect(hook.renders()).toBe(3)
  })
})
