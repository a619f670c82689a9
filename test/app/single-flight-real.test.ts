import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { parseWavHeader, isCanonicalWav } from '../../src/audio/wav.js'
import { startTestApp, listFiles, type TestApp } from '../harness/app/test-app.js'

let t: TestApp | undefined
afterEach(async () => {
  await t?.close()
  t = undefined
})

describe('the real app (DiskStore + espeak-ng + sox + in-process pool)', () => {
  it('renders one new sentence once for 200 concurrent requests, and every caller gets the same file', async () => {
    t = await startTestApp()
    const text = `Two hundred callers asked for this at once ${Date.now()}`
    const results = await Promise.all(Array.from({ length: 200 }, () => t!.app.service.get({ text }, { source: 'esl' })))
    expect(t.renders()).toBe(1)
    expect(new Set(results.map((r) => r.path)).size).toBe(1)
    expect(results.filter((r) => r.status === 'rendered')).toHaveLength(1)
    expect(results.filter((r) => r.status === 'coalesced')).toHaveLength(199)
    const path = results[0]!.path
    const bytes = await readFile(path)
    const wav = parseWavHeader(bytes, bytes.byteLength)
    expect(wav.ok && isCanonicalWav(wav.info, 8000)).toBe(true)
    // Nothing but the WAV and its sidecar was left behind: no temp file, no lock.
    const files = await listFiles(t.cacheDir)
    expect(files.filter((f) => !f.startsWith('.'))).toEqual([
      path.slice(t.cacheDir.length + 1),
      path.slice(t.cacheDir.length + 1).replace(/\.wav$/, '.json'),
    ].sort())
    const again = await t.app.service.get({ text: `  ${text}  ` })
    expect(again).toMatchObject({ status: 'hit', path })
    expect(t.renders()).toBe(1)
  })

  it('keys on every audio parameter: another voice or rate is another file', async () => {
    t = await startTestApp()
    const text = 'Same words, other voice'
    const a = await t.app.service.get({ text })
    const b = await t.app.service.get({ text, voice: 'en-us' })
    const c = await t.app.service.get({ text, sampleRate: 16000 })
    expect(new Set([a.key, b.key, c.key]).size).toBe(3)
    expect(t.renders()).toBe(3)
    const wide = await readFile(c.path)
    const info = parseWavHeader(wide, wide.byteLength)
    expect(info.ok && info.info.sampleRate).toBe(16000)
  })

  it('does not cache a failure: every waiter gets the same typed error, the next request tries again', async () => {
    let fail = true
    t = await startTestApp({}, {
      wrapRenderer: (inner) => (job, signal) => (fail ? Promise.reject(new Error('engine exploded')) : inner(job, signal)),
    })
    const text = 'This render fails the first time'
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => t!.app.service.get({ text })))
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true)
    const codes = new Set(outcomes.map((o) => (o as PromiseRejectedResult).reason.code))
    expect([...codes]).toHaveLength(1)
    expect(t.renders()).toBe(1)
    fail = false
    await expect(t.app.service.get({ text })).resolves.toMatchObject({ status: 'rendered' })
    expect(t.renders()).toBe(2)
  })
})
