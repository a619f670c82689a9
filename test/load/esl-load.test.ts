import { createServer, type AddressInfo, type Socket } from 'node:net'
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
    // socket() without `full`: the service falls back to sendmsg set, and the generator reads those.
    const single = await runEslLoad({ port: hook.port, channels: 2, phrases: 3, zipfS: 1, calls: 6, deadlineMs: 10_000, seed: 3, full: false })
    expect(single.failed).toBe(0)
    expect(single.withFile).toBe(6)
  })

  it('counts a call as failed when its answer lacks tts_file or tts_cache_key for a status with audio', async () => {
    // A hook that answers `hit` but writes only what `variables` names (over api uuid_setvar), then exit.
    const fakeHook = async (variables: (uuid: string) => string[]): Promise<number> => {
      const server = createServer((socket: Socket) => {
        let data = ''
        socket.on('error', () => socket.destroy())
        socket.on('data', (chunk) => {
          data += chunk.toString('utf8')
          const uuid = /^Unique-ID: (.+)$/m.exec(data)?.[1]
          if (!data.includes('\n\n') || uuid === undefined) return
          data = ''
          socket.write(variables(uuid).map((v) => `api uuid_setvar ${uuid} ${v}\n\n`).join('') + 'exit\n\n')
        })
        socket.write('connect\n\n')
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      cleanups.push(() => new Promise((resolve) => server.close(() => resolve())))
      return (server.address() as AddressInfo).port
    }
    const noFile = await fakeHook(() => ['tts_cache_status hit', 'tts_cache_key abc'])
    const noKey = await fakeHook(() => ['tts_file /var/cache/x.wav', 'tts_cache_status hit'])
    const complete = await fakeHook(() => ['tts_file /var/cache/x.wav', 'tts_cache_status hit', 'tts_cache_key abc'])
    const run = (port: number) => runEslLoad({ port, channels: 2, phrases: 2, zipfS: 1, calls: 4, callTimeoutMs: 5000 })
    expect((await run(noFile)).failed).toBe(4)
    expect((await run(noKey)).failed).toBe(4)
    const ok = await run(complete)
    expect(ok.failed).toBe(0)
    expect(ok.withFile).toBe(4)
  })
})
