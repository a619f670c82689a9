import { describe, expect, it, vi } from 'vitest'
import { isTtsError, TtsError } from '../../src/core/errors.js'
import { SingleFlight } from '../../src/core/single-flight.js'

function deferred<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('SingleFlight', () => {
  it('shares one run of the work between concurrent callers', async () => {
    const flights = new SingleFlight<string>(() => {})
    const gate = deferred<string>()
    const work = vi.fn(() => gate.promise)
    const calls = Array.from({ length: 200 }, () => flights.run('k', work))
    expect(calls.filter((c) => !c.joined)).toHaveLength(1)
    gate.resolve('wav')
    expect(await Promise.all(calls.map((c) => c.promise))).toEqual(Array(200).fill('wav'))
    expect(work).toHaveBeenCalledTimes(1)
    expect(flights.size).toBe(0)
  })

  it('gives every waiter the same error and does not cache the failure', async () => {
    const flights = new SingleFlight<string>(() => {})
    const failure = new TtsError('TTS_ERR_RENDER_FAILED', { args: ['x', 'boom'] })
    const a = flights.run('k', () => Promise.reject(failure))
    const b = flights.run('k', () => Promise.resolve('never'))
    await expect(a.promise).rejects.toBe(failure)
    await expect(b.promise).rejects.toBe(failure)
    const again = flights.run('k', () => Promise.resolve('second try'))
    expect(again.joined).toBe(false)
    await expect(again.promise).resolves.toBe('second try')
  })

  it('lets an aborted waiter detach without cancelling the work for the others', async () => {
    const flights = new SingleFlight<string>(() => {})
    const gate = deferred<string>()
    let workSignal: AbortSignal | undefined
    const leaver = new AbortController()
    const first = flights.run('k', (signal) => {
      workSignal = signal
      return gate.promise
    }, { signal: leaver.signal })
    const stayer = flights.run('k', () => gate.promise)
    leaver.abort()
    await expect(first.promise).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
    await Promise.resolve()
    expect(workSignal?.aborted).toBe(false)
    gate.resolve('done')
    await expect(stayer.promise).resolves.toBe('done')
  })

  it('cancels the work when the last waiter leaves and nobody asked to keep it', async () => {
    const orphaned = vi.fn()
    const flights = new SingleFlight<string>(orphaned)
    const ctl = new AbortController()
    const flight = flights.run('k', (signal) => new Promise<string>((_res, rej) => {
      signal.addEventListener('abort', () => rej(signal.reason))
    }), { signal: ctl.signal })
    await Promise.resolve()
    ctl.abort()
    await expect(flight.promise).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
    await vi.waitFor(() => expect(orphaned).toHaveBeenCalledTimes(1))
    expect(flights.size).toBe(0)
  })

  it('keeps kept-alive work running after every waiter left, and reports its failure', async () => {
    const orphaned = vi.fn()
    const flights = new SingleFlight<string>(orphaned)
    const gate = deferred<string>()
    let workSignal: AbortSignal | undefined
    const ctl = new AbortController()
    const flight = flights.run('k', (signal) => {
      workSignal = signal
      return gate.promise
    }, { signal: ctl.signal, keepAlive: true })
    ctl.abort()
    await expect(flight.promise).rejects.toSatisfy(isTtsError)
    expect(workSignal?.aborted).toBe(false)
    expect(flights.has('k')).toBe(true)
    gate.reject(new Error('engine died'))
    await vi.waitFor(() => expect(orphaned).toHaveBeenCalledWith('k', expect.any(Error)))
  })

  it('maps a timeout abort to TTS_ERR_DEADLINE_EXCEEDED', async () => {
    const flights = new SingleFlight<string>(() => {})
    const gate = deferred<string>()
    const ctl = new AbortController()
    const flight = flights.run('k', () => gate.promise, { signal: ctl.signal, keepAlive: true })
    ctl.abort(new DOMException('deadline', 'TimeoutError'))
    await expect(flight.promise).rejects.toMatchObject({ code: 'TTS_ERR_DEADLINE_EXCEEDED' })
    gate.resolve('late')
  })

  it('keeps the work going when its last waiter detaches because its deadline passed (a client that went away does not)', async () => {
    const flights = new SingleFlight<string>(() => {})
    const gate = deferred<string>()
    let workSignal: AbortSignal | undefined
    const late = new AbortController()
    const waiter = flights.run('k', (signal) => {
      workSignal = signal
      return gate.promise
    }, { signal: late.signal })
    late.abort(new TtsError('TTS_ERR_DEADLINE_EXCEEDED', { args: [200] }))
    await expect(waiter.promise).rejects.toMatchObject({ code: 'TTS_ERR_DEADLINE_EXCEEDED' })
    expect(workSignal?.aborted).toBe(false)
    expect(flights.has('k')).toBe(true)
    gate.resolve('ready for the retry')
    await vi.waitFor(() => expect(flights.has('k')).toBe(false))

    const gone = new AbortController()
    const other = deferred<string>()
    let otherSignal: AbortSignal | undefined
    const abandoned = flights.run('j', (signal) => {
      otherSignal = signal
      return other.promise
    }, { signal: gone.signal })
    await Promise.resolve()
    gone.abort()
    await expect(abandoned.promise).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
    expect(otherSignal?.aborted).toBe(true)
    other.resolve('unused')
  })

  describe('seats (a waiter with no promise or signal of its own)', () => {
    it('has none while nothing is in flight; a seat waits on the flight\'s own promise and keeps it from being orphaned', async () => {
      const orphaned = vi.fn()
      const flights = new SingleFlight<string>(orphaned)
      expect(flights.seat('k')).toBeUndefined()
      const gate = deferred<string>()
      const leader = flights.run('k', () => gate.promise)
      const seats = [flights.seat('k'), flights.seat('k')]
      expect(seats[0]?.promise).toBe(seats[1]?.promise)
      const failure = new TtsError('TTS_ERR_RENDER_FAILED', { args: ['x', 'boom'] })
      gate.reject(failure)
      await expect(leader.promise).rejects.toBe(failure)
      await expect(seats[0]?.promise).rejects.toBe(failure)
      // Its seats were still waiting: the failure reached them, so it is not an orphan's.
      expect(orphaned).not.toHaveBeenCalled()
      expect(seats[0]?.leave(false)).toBe(false)
      expect(flights.seat('k')).toBeUndefined()
    })

    it('cancels the work when its last waiter, a seat, leaves; a seat leaving on its deadline keeps it for the retry', async () => {
      const flights = new SingleFlight<string>(() => {})
      const signals: AbortSignal[] = []
      const work = (s: AbortSignal): Promise<string> => {
        signals.push(s)
        return new Promise<string>((_resolve, reject) => s.addEventListener('abort', () => reject(s.reason)))
      }
      const leader = new AbortController()
      const started = flights.run('k', work, { signal: leader.signal })
      const [a, b] = [flights.seat('k'), flights.seat('k')]
      await Promise.resolve()
      // The caller that started it went away: its seats still wait.
      leader.abort()
      await expect(started.promise).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
      expect(a?.leave(false)).toBe(true)
      expect(a?.leave(false)).toBe(false)
      expect(signals[0]?.aborted).toBe(false)
      expect(b?.leave(false)).toBe(true)
      expect(signals[0]?.aborted).toBe(true)
      await expect(b?.promise).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })

      const gate = deferred<string>()
      const first = new AbortController()
      const kept = flights.run('j', () => gate.promise, { signal: first.signal })
      const seat = flights.seat('j')
      first.abort()
      await expect(kept.promise).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
      // Its deadline passed: the work goes on, and the next caller joins it.
      expect(seat?.leave(true)).toBe(true)
      const retry = flights.run('j', () => Promise.resolve('not run'))
      expect(retry.joined).toBe(true)
      gate.resolve('ready for the retry')
      await expect(retry.promise).resolves.toBe('ready for the retry')
    })
  })

  it('rejects at once for an already aborted signal without starting work', async () => {
    const flights = new SingleFlight<string>(() => {})
    const work = vi.fn(() => Promise.resolve('x'))
    const ctl = new AbortController()
    ctl.abort()
    const flight = flights.run('k', work, { signal: ctl.signal, keepAlive: true })
    await expect(flight.promise).rejects.toMatchObject({ code: 'TTS_ERR_ABORTED' })
    expect(work).not.toHaveBeenCalled()
    expect(flights.size).toBe(0)
  })
})
