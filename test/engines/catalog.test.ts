import { join } from 'node:path'
import { execa } from 'execa'
import { afterEach, describe, expect, it } from 'vitest'
import { EngineCatalog } from '../../src/engines/catalog.js'
import { fixture, makeTempDir, removeTempDirs, silentLogger } from '../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

/** Engines other than espeak-ng pointed at paths that do not exist, so the test does not depend on what is installed. */
const ABSENT = {
  swift: { path: '/nonexistent/swift' },
  flite: { path: '/nonexistent/flite' },
  pico2wave: { path: '/nonexistent/pico2wave' },
}

describe('EngineCatalog', () => {
  it('detects the installed espeak-ng version once at start', async () => {
    const catalog = await EngineCatalog.detect({ defaultEngine: 'espeak-ng', engines: ABSENT, logger: silentLogger })
    const { stdout } = await execa('espeak-ng', ['--version'])
    const version = catalog.versionOf('espeak-ng')
    expect(version).toMatch(/^\d+\.\d+/)
    expect(stdout).toContain(`text-to-speech: ${version}`)
    expect(catalog.ids()).toEqual(['espeak-ng'])
  })

  it('accepts known voices and variants, and the default voice', async () => {
    const catalog = await EngineCatalog.detect({ defaultEngine: 'espeak-ng', engines: ABSENT, logger: silentLogger })
    for (const voice of ['', 'en-us', 'en+f3', 'en-us+m3', 'fr', 'EN-GB']) {
      expect(() => catalog.checkVoice('espeak-ng', voice), voice).not.toThrow()
    }
  })

  it('rejects an unknown voice or variant up front with TTS_ERR_UNKNOWN_VOICE', async () => {
    const catalog = await EngineCatalog.detect({ defaultEngine: 'espeak-ng', engines: ABSENT, logger: silentLogger })
    for (const voice of ['xx-nowhere', 'en+nosuchvariant', 'en-US-x-foo']) {
      expect(() => catalog.checkVoice('espeak-ng', voice), voice).toThrow(
        expect.objectContaining({ code: 'TTS_ERR_UNKNOWN_VOICE', message: `engine espeak-ng has no voice ${voice}` }),
      )
    }
  })

  it('enables other engines only when found, and hands out their adapters', async () => {
    const catalog = await EngineCatalog.detect({
      defaultEngine: 'espeak-ng',
      engines: { ...ABSENT, swift: { path: fixture('swift') }, pico2wave: { path: fixture('pico2wave') } },
      logger: silentLogger,
    })
    expect(catalog.ids()).toEqual(['espeak-ng', 'swift', 'pico2wave'])
    expect(catalog.adapter('swift').binary).toBe(fixture('swift'))
    expect(catalog.versionOf('swift')).toBe('Swift 6.2.3 stand-in (test fixture)')
    // swift lists no voices: any valid name passes the catalog. pico2wave has a fixed list.
    expect(() => catalog.checkVoice('swift', 'Allison-8kHz')).not.toThrow()
    expect(() => catalog.checkVoice('pico2wave', 'de-DE')).not.toThrow()
    expect(() => catalog.checkVoice('pico2wave', 'nl-NL')).toThrow(expect.objectContaining({ code: 'TTS_ERR_UNKNOWN_VOICE' }))
    expect(() => catalog.versionOf('flite')).toThrow(expect.objectContaining({ code: 'TTS_ERR_UNKNOWN_ENGINE' }))
    expect(() => catalog.adapter('flite')).toThrow(expect.objectContaining({ code: 'TTS_ERR_UNKNOWN_ENGINE' }))
  })

  it('enables the command engine only when a template is configured', async () => {
    const without = await EngineCatalog.detect({ defaultEngine: 'espeak-ng', engines: ABSENT, logger: silentLogger })
    expect(without.ids()).not.toContain('command')
    const withTemplate = await EngineCatalog.detect({
      defaultEngine: 'command',
      engines: ABSENT,
      commandTemplate: [fixture('count-invocations'), '{out}'],
      logger: silentLogger,
    })
    expect(withTemplate.ids()).toContain('command')
    expect(withTemplate.versionOf('command')).toMatch(/^template-/)
  })

  it('fails clearly when the default engine is missing', async () => {
    const dir = await makeTempDir()
    const missing = join(dir, 'espeak-ng')
    const err: unknown = await EngineCatalog.detect({
      defaultEngine: 'espeak-ng',
      engines: { ...ABSENT, 'espeak-ng': { path: missing } },
      logger: silentLogger,
    }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'TTS_ERR_ENGINE_UNAVAILABLE' })
    expect((err as Error).message).toBe(`engine espeak-ng is not available: ${missing} not found`)
  })

  it('fails clearly for a default engine that is not an engine, or command without a template', async () => {
    await expect(EngineCatalog.detect({ defaultEngine: 'festival', logger: silentLogger })).rejects.toMatchObject({
      code: 'TTS_ERR_UNKNOWN_ENGINE',
    })
    await expect(EngineCatalog.detect({ defaultEngine: 'command', logger: silentLogger })).rejects.toMatchObject({
      code: 'TTS_ERR_ENGINE_UNAVAILABLE',
    })
  })

  it('describes every engine and sox for `doctor`: found, path, version, error', async () => {
    const catalog = await EngineCatalog.detect({ defaultEngine: 'espeak-ng', engines: ABSENT, logger: silentLogger })
    const { engines, sox } = catalog.describe()
    expect(engines.map((e) => e.id)).toEqual(['espeak-ng', 'swift', 'flite', 'pico2wave'])
    const espeak = engines.find((e) => e.id === 'espeak-ng')
    expect(espeak).toMatchObject({ found: true, isDefault: true, binary: 'espeak-ng', version: catalog.versionOf('espeak-ng'), error: undefined })
    expect(espeak?.path).toMatch(/\/espeak-ng$/)
    expect(espeak?.voices).toBeGreaterThan(10)
    const swift = engines.find((e) => e.id === 'swift')
    expect(swift).toMatchObject({ found: false, isDefault: false, binary: '/nonexistent/swift', path: undefined, version: undefined })
    expect(swift?.error).toContain('/nonexistent/swift not found')
    expect(sox).toMatchObject({ id: 'sox', found: true })
    expect(sox.version).toMatch(/^v\d+\.\d+/)
  })
})
