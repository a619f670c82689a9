/**
 * The engine registry: every engine this service can render with, in the order they are
 * detected and listed. The engine ids (`TTS_ENGINE`'s values), the config's binary settings
 * (`TTS_<ID>_BIN`) and the catalog's adapters all derive from this list, so adding a
 * command-line engine is its adapter file (an {@link EngineDefinition} beside `createXEngine`)
 * plus one line here (and its row in docs/configuration.md).
 */
import { commandEngine } from './command.js'
import type { EngineAdapter, EngineAdapterOptions, EngineDefinition } from './engine-adapter.js'
import { espeakNgEngine } from './espeak-ng.js'
import { fliteEngine } from './flite.js'
import { pico2waveEngine } from './pico2wave.js'
import { swiftEngine } from './swift.js'

export const ENGINE_REGISTRY = Object.freeze([espeakNgEngine, swiftEngine, fliteEngine, pico2waveEngine, commandEngine] as const)

type RegisteredEngine = (typeof ENGINE_REGISTRY)[number]

/** An engine id of the registry. */
export type EngineId = RegisteredEngine['id']

/** Every engine id, in registry order (a non-empty tuple, as `z.enum` takes it). */
export const ENGINE_IDS = Object.freeze(ENGINE_REGISTRY.map((engine) => engine.id)) as unknown as readonly [EngineId, ...EngineId[]]

/** The registry entries whose binary the operator may set (`TTS_<ID>_BIN`). */
export type BinaryEngine = Extract<RegisteredEngine, { readonly defaultBinary: string }>

export const BINARY_ENGINES: readonly BinaryEngine[] = Object.freeze(
  ENGINE_REGISTRY.filter((engine): engine is BinaryEngine => 'defaultBinary' in engine),
)

/** The registry entry of `id`, if it is one. */
export function engineDefinition(id: string): EngineDefinition | undefined {
  return ENGINE_REGISTRY.find((engine) => engine.id === id)
}

/** Every adapter the options configure (found or not: nothing is probed), in registry order. */
export function createAdapters(options: EngineAdapterOptions): EngineAdapter[] {
  const adapters: EngineAdapter[] = []
  for (const engine of ENGINE_REGISTRY) {
    const adapter = (engine as EngineDefinition).create(options.engines?.[engine.id] ?? {}, options)
    if (adapter !== undefined) adapters.push(adapter)
  }
  return adapters
}

/** {@link createAdapters} by engine id (the render host's lookup). */
export function adaptersById(options: EngineAdapterOptions): ReadonlyMap<string, EngineAdapter> {
  return new Map(createAdapters(options).map((adapter) => [adapter.id, adapter]))
}
