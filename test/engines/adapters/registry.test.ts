import { describe, expect, it } from 'vitest'
import { engineAdapterOptionsOf } from '../../../src/config/engine-binaries.js'
import { loadConfig } from '../../../src/config/load-config.js'
import { ENV_NAMES } from '../../../src/config/schema.js'
import { BINARY_ENGINES, ENGINE_IDS, ENGINE_REGISTRY, adaptersById, createAdapters } from '../../../src/engines/adapters/index.js'
import { EngineCatalog } from '../../../src/engines/catalog.js'
import { silentLogger } from '../../fixtures/engines/helpers.js'

// Adding an engine is its adapter file plus one line in the registry: everything else that
// names engines (config values and settings, the catalog's adapters) must follow from it.
describe('the engine registry', () => {
  it('lists each engine once, with ids a request may carry', () => {
    expect(ENGINE_IDS).toEqual(ENGINE_REGISTRY.map((engine) => engine.id))
    expect(new Set(ENGINE_IDS).size).toBe(ENGINE_IDS.length)
    for (const id of ENGINE_IDS) expect(id).toMatch(/^[a-z0-9][a-z0-9-]{0,31}$/)
  })

  it('is what TTS_ENGINE accepts', () => {
    for (const id of ENGINE_IDS) {
      const env = id === 'command' ? { TTS_ENGINE: id, TTS_COMMAND: '["/bin/tts","{out}"]' } : { TTS_ENGINE: id }
      expect(loadConfig({ env }).engine).toBe(id)
    }
    expect(() => loadConfig({ env: { TTS_ENGINE: 'not-an-engine' } })).toThrow(/TTS_ENGINE/)
  })

  it('gives every engine with a binary its TTS_<ID>_BIN setting, defaulting to the usual name', () => {
    expect(BINARY_ENGINES.map((engine) => engine.id)).toEqual(['espeak-ng', 'swift', 'flite', 'pico2wave'])
    expect(ENV_NAMES).toMatchObject({ TTS_ESPEAK_NG_BIN: 'espeakNgBin', TTS_SWIFT_BIN: 'swiftBin', TTS_FLITE_BIN: 'fliteBin', TTS_PICO2WAVE_BIN: 'pico2waveBin' })
    const config = loadConfig({ env: { TTS_PICO2WAVE_BIN: '/opt/pico/bin/pico2wave' } })
    expect(config).toMatchObject({ espeakNgBin: 'espeak-ng', swiftBin: 'swift', fliteBin: 'flite', pico2waveBin: '/opt/pico/bin/pico2wave' })
    expect(engineAdapterOptionsOf(config)).toEqual({
      commandTemplate: undefined,
      engines: { 'espeak-ng': { path: 'espeak-ng' }, swift: { path: 'swift' }, flite: { path: 'flite' }, pico2wave: { path: '/opt/pico/bin/pico2wave' } },
    })
  })

  it('makes one adapter per engine, with its own id and binary; command only with a template', () => {
    const config = loadConfig({ env: { TTS_FLITE_BIN: '/usr/local/bin/flite' } })
    const adapters = createAdapters(engineAdapterOptionsOf(config))
    expect(adapters.map((adapter) => [adapter.id, adapter.binary])).toEqual([
      ['espeak-ng', 'espeak-ng'],
      ['swift', 'swift'],
      ['flite', '/usr/local/bin/flite'],
      ['pico2wave', 'pico2wave'],
    ])
    const withCommand = adaptersById({ commandTemplate: ['/opt/bin/my-tts', '--out', '{out}'] })
    expect([...withCommand.keys()]).toEqual(ENGINE_IDS)
    expect(withCommand.get('command')?.binary).toBe('/opt/bin/my-tts')
  })

  it('refuses a default engine the registry does not hold, and one left unconfigured', async () => {
    await expect(EngineCatalog.detect({ defaultEngine: 'piper', logger: silentLogger })).rejects.toMatchObject({ code: 'TTS_ERR_UNKNOWN_ENGINE' })
    await expect(EngineCatalog.detect({ defaultEngine: 'command', logger: silentLogger })).rejects.toMatchObject({
      code: 'TTS_ERR_ENGINE_UNAVAILABLE',
      message: expect.stringContaining('no command template is configured') as unknown,
    })
  })
})
