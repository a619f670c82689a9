/**
 * The k6 scripts name things the service defines (a metric, pre-warm states, a header). The
 * type-check cannot see those strings go stale; this test reads them from the scripts' source
 * and holds them to the service's own definitions.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { prewarmProgressSchema } from '../../src/http/schemas/prewarm.js'
import { Metrics } from '../../src/observability/metrics.js'

const source = (file: string): Promise<string> => readFile(new URL(`../../load/k6/${file}`, import.meta.url), 'utf8')

describe('k6 scripts against the service they load', () => {
  it('count renders with a metric the service exports', async () => {
    const name = /export const RENDERS_METRIC = '([^']+)'/.exec(await source('dogpile.ts'))?.[1]
    expect(name).toBeDefined()
    const metrics = new Metrics({ defaultMetrics: false })
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name)
    expect(names).toContain(name)
  })

  it('wait for pre-warm states the API reports', async () => {
    const match = /PREWARM_TERMINAL_STATES: readonly string\[\] = \[([^\]]*)\]/.exec(await source('lib/api.ts'))
    const terminal = (match?.[1] ?? '').split(',').map((s) => s.trim().replace(/'/g, '')).filter((s) => s !== '')
    const states: readonly string[] = prewarmProgressSchema.properties.state.enum
    expect(terminal.length).toBeGreaterThan(0)
    for (const state of terminal) expect(states).toContain(state)
    // Every state is either terminal or the one the scripts keep polling on.
    expect([...terminal, 'running'].sort()).toEqual([...states].sort())
  })

  it('read the cache status from the header the API sets', async () => {
    const api = await source('lib/api.ts')
    const audio = await readFile(new URL('../../src/http/audio-response.ts', import.meta.url), 'utf8')
    expect(api).toContain("header(res, 'X-TTS-Cache')")
    expect(audio.toLowerCase()).toContain("reply.header('x-tts-cache'")
  })
})
