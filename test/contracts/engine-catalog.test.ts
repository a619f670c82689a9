/**
 * The engine-catalog port's contract, run against the real EngineCatalog (detected here:
 * espeak-ng and flite are installed) and the two fakes the tests use instead of it: the HTTP
 * tests' FakeEngineCatalog and the cluster tests' fixedCatalog.
 *
 * Both fakes once accepted checkVoice for an engine they do not hold (the real catalog throws
 * TTS_ERR_UNKNOWN_ENGINE); this suite found it and they were fixed.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type { EngineCatalog } from '../../src/core/ports/index.js'
import { EngineCatalog as DetectedEngineCatalog } from '../../src/engines/catalog.js'
import { silentLogger } from '../fixtures/engines/helpers.js'
import { FakeEngineCatalog } from '../fakes/engine-catalogs.js'
import { fixedCatalog } from '../fakes/engine-catalogs.js'

interface Subject {
  readonly catalog: () => Promise<EngineCatalog>
  /** An engine that lists its voices, with one of them; absent when no engine lists voices. */
  readonly listing?: { readonly engine: string; readonly voice: string }
}

const subjects: readonly [string, Subject][] = [
  [
    'EngineCatalog (detected)',
    { catalog: () => DetectedEngineCatalog.detect({ defaultEngine: 'espeak-ng', logger: silentLogger, logFound: false }), listing: { engine: 'espeak-ng', voice: 'en' } },
  ],
  ['FakeEngineCatalog (HTTP tests)', { catalog: async () => new FakeEngineCatalog(), listing: { engine: 'espeak-ng', voice: 'en' } }],
  ['fixedCatalog (cluster tests)', { catalog: async () => fixedCatalog() }],
]

const ABSENT = 'festival'

describe.each(subjects)('EngineCatalog contract: %s', (_name, subject) => {
  let catalog: EngineCatalog
  beforeAll(async () => {
    catalog = await subject.catalog()
  })

  it('lists its engines once each, each with a non-empty version that stays the same', () => {
    const ids = catalog.ids()
    expect(ids.length).toBeGreaterThan(0)
    expect(new Set(ids).size).toBe(ids.length)
    expect(ids).not.toContain(ABSENT)
    for (const id of ids) {
      const version = catalog.versionOf(id)
      expect(version.trim()).not.toBe('')
      expect(catalog.versionOf(id)).toBe(version)
    }
  })

  it('refuses the version of an engine it does not hold with TTS_ERR_UNKNOWN_ENGINE', () => {
    expect(() => catalog.versionOf(ABSENT)).toThrow(expect.objectContaining({ code: 'TTS_ERR_UNKNOWN_ENGINE' }) as unknown as Error)
  })

  it('accepts the default voice (an empty name) for every engine it holds', () => {
    for (const id of catalog.ids()) expect(() => catalog.checkVoice(id, '')).not.toThrow()
  })

  // Only a catalog with a listing engine has voices to accept and refuse (registered, not skipped:
  // a strict CI run fails on any skipped test).
  const listing = subject.listing
  if (listing !== undefined) {
    it('accepts a voice a listing engine lists, and refuses one it does not with TTS_ERR_UNKNOWN_VOICE', () => {
      expect(() => catalog.checkVoice(listing.engine, listing.voice)).not.toThrow()
      expect(() => catalog.checkVoice(listing.engine, 'no-such-voice-7f3a')).toThrow(expect.objectContaining({ code: 'TTS_ERR_UNKNOWN_VOICE' }) as unknown as Error)
    })
  }

  it('refuses checkVoice for an engine it does not hold with TTS_ERR_UNKNOWN_ENGINE', () => {
    expect(() => catalog.checkVoice(ABSENT, 'en')).toThrow(expect.objectContaining({ code: 'TTS_ERR_UNKNOWN_ENGINE' }) as unknown as Error)
  })
})
