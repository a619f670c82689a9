import { describe, expect, it } from 'vitest'
import { WatchdogClock, type WatchdogReading } from '../../src/supervision/watchdog-clock.js'

const OPTIONS = { watchdogMs: 1500, pollMs: 100, starvedCapFactor: 4 }

/** Polls every 100 ms from `from` to `to` (ms) with the beat counter stuck at 0; the first verdict that kills, if any. */
function stuck(clock: WatchdogClock, from: number, to: number, cpuWaitAt: (now: number) => number | undefined): { at: number; blockedMs: number; cpuWaitMs: number } | undefined {
  for (let now = from; now <= to; now += 100) {
    const verdict = clock.observe({ now, beats: 0, cpuWaitMs: cpuWaitAt(now) })
    if (verdict.kill) return { at: now, blockedMs: verdict.blockedMs, cpuWaitMs: verdict.cpuWaitMs }
  }
  return undefined
}

const start: WatchdogReading = { now: 0, beats: 0, cpuWaitMs: 0 }

describe('the watchdog clock', () => {
  it('kills a loop that stops beating while not waiting for a CPU (a busy loop, a call that never returns) after watchdogMs', () => {
    const killed = stuck(new WatchdogClock(OPTIONS, start), 100, 10_000, () => 0)
    expect(killed).toEqual({ at: 1500, blockedMs: 1500, cpuWaitMs: 0 })
  })

  it('does not charge the time the main thread waited for a CPU: a starved loop that beats again lives', () => {
    const clock = new WatchdogClock(OPTIONS, start)
    // Two thirds of each poll spent on the run queue (load 20–30 on 2 cores): 3 s of wall time is 1 s charged.
    expect(stuck(clock, 100, 3000, (now) => (now * 2) / 3)).toBeUndefined()
    expect(clock.observe({ now: 3100, beats: 1, cpuWaitMs: 2066 }).kill).toBe(false)
    // The window starts again from the beat.
    expect(stuck(clock, 3200, 4500, (now) => 2066 + ((now - 3100) * 2) / 3)).toBeUndefined()
  })

  it('charges what is not run-queue wait: a loop blocked on a loaded machine is killed once watchdogMs of it is not waiting', () => {
    // Half of the time waiting: 1500 ms charged at 3000 ms.
    expect(stuck(new WatchdogClock(OPTIONS, start), 100, 10_000, (now) => now / 2)).toEqual({ at: 3000, blockedMs: 3000, cpuWaitMs: 1500 })
  })

  it('still kills a loop starved without end, at starvedCapFactor × watchdogMs', () => {
    expect(stuck(new WatchdogClock(OPTIONS, start), 100, 60_000, (now) => now)).toEqual({ at: 6000, blockedMs: 6000, cpuWaitMs: 6000 })
  })

  it('charges wall time when the run-queue wait cannot be read (not Linux, no schedstat)', () => {
    expect(stuck(new WatchdogClock(OPTIONS, { ...start, cpuWaitMs: undefined }), 100, 10_000, () => undefined)?.at).toBe(1500)
  })

  it('starts the window again after its own polls stalled (the whole process was stopped), as before', () => {
    const clock = new WatchdogClock(OPTIONS, start)
    expect(clock.observe({ now: 100, beats: 0, cpuWaitMs: 0 }).kill).toBe(false)
    // 5 s without a poll of its own (SIGSTOP / SIGCONT): not the loop's fault.
    expect(clock.observe({ now: 5100, beats: 0, cpuWaitMs: 0 }).kill).toBe(false)
    expect(stuck(clock, 5200, 20_000, () => 0)?.at).toBe(6600)
  })
})
