/**
 * The bench's stand-in for k6 mixed.ts (load/bench/scenarios/mixed.js) judges the service by
 * the script's own defaults and thresholds, read from its source, and replays k6's
 * constant-arrival-rate executor. These keep both honest without timing anything: the settings
 * still parse from the shipped script (an edit there fails here, not in the middle of a bench
 * run), and the executor drops arrivals beyond its in-flight ceiling as k6 does.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'

const ROOT = new URL('../../', import.meta.url)
const bench = (file: string): string => new URL(`load/bench/${file}`, ROOT).href

interface Settings {
  phrases: number
  rate: number
  durationS: number
  maxVus: number
  prewarmTop: number
  voices: string[]
  hitP95Ms: number
  missP99Ms: number
  minHitRate: number
}

// Computed specifiers: the bench is plain JavaScript (no .d.ts); each import gets the small
// shape this test relies on.
interface SettingsModule {
  mixedSettings(source?: string): Settings
  k6DurationSeconds(text: string): number
  MIXED_SCRIPT: string
}
const settingsModule = async (): Promise<SettingsModule> => (await import(bench('lib/k6-mixed-settings.js'))) as SettingsModule

describe('the k6 mixed.ts stand-in', () => {
  it('reads every default and threshold it judges by from the shipped mixed.ts', async () => {
    const { mixedSettings } = await settingsModule()
    const s = mixedSettings()
    for (const value of [s.phrases, s.rate, s.durationS, s.maxVus, s.prewarmTop, s.hitP95Ms, s.missP99Ms, s.minHitRate]) {
      expect(Number.isFinite(value) && value > 0).toBe(true)
    }
    expect(s.voices.length).toBeGreaterThan(0)
  })

  it('refuses a mixed.ts whose fixed thresholds changed, instead of judging by stale ones', async () => {
    const { mixedSettings, MIXED_SCRIPT } = await settingsModule()
    const source = await readFile(MIXED_SCRIPT, 'utf8')
    expect(() => mixedSettings(source.replace("checks: ['rate>0.99']", "checks: ['rate>0.9']"))).toThrow(/checks/)
    expect(() => mixedSettings(source.replace("envInt('HIT_P95_MS', 25)", 'HIT_P95'))).toThrow(/HIT_P95_MS/)
  })

  it('reads k6 durations', async () => {
    const { k6DurationSeconds } = await settingsModule()
    expect(k6DurationSeconds('2m')).toBe(120)
    expect(k6DurationSeconds('1m30s')).toBe(90)
    expect(() => k6DurationSeconds('2 minutes')).toThrow()
  })

  it('drops arrivals that find every VU busy and interrupts what outlives the graceful stop', async () => {
    const { runConstantArrivalRate } = (await import(bench('lib/arrival-rate.js'))) as {
      runConstantArrivalRate(o: {
        rate: number
        durationS: number
        maxVus: number
        gracefulStopS: number
        iterate: (i: number, signal: AbortSignal) => Promise<void>
      }): Promise<{ started: number; dropped: number; interrupted: number; maxInFlight: number }>
    }
    // Five arrivals; each iteration hangs until the executor gives up on it.
    const hang = (_i: number, signal: AbortSignal): Promise<void> => new Promise((resolve) => signal.addEventListener('abort', () => resolve()))
    const result = await runConstantArrivalRate({ rate: 100, durationS: 0.05, maxVus: 2, gracefulStopS: 0, iterate: hang })
    expect(result).toMatchObject({ started: 2, dropped: 3, interrupted: 2, maxInFlight: 2 })
  })
})
