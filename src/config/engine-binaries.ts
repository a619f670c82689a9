/**
 * The config's engine settings, derived from the engine registry (src/engines/adapters/index.ts):
 * each engine with a binary gets a config key `<camelCaseId>Bin` and an environment variable
 * `TTS_<ID>_BIN` (`espeak-ng` → `espeakNgBin`, `TTS_ESPEAK_NG_BIN`), defaulting to its usual name.
 * The core never sees the registry: it takes engine ids as plain strings.
 */
import { z } from 'zod'
import type { EngineAdapterOptions } from '../engines/adapters/engine-adapter.js'
import { BINARY_ENGINES, type BinaryEngine } from '../engines/adapters/index.js'

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S
type UpperSnakeCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Uppercase<Head>}_${UpperSnakeCase<Tail>}` : Uppercase<S>

type BinaryEngineId = BinaryEngine['id']
/** `pico2wave` → `pico2waveBin`. */
export type BinaryConfigKey<Id extends string = BinaryEngineId> = `${CamelCase<Id>}Bin`
/** `pico2wave` → `TTS_PICO2WAVE_BIN`. */
export type BinaryEnvName<Id extends string = BinaryEngineId> = `TTS_${UpperSnakeCase<Id>}_BIN`

export function binaryConfigKey<Id extends string>(id: Id): BinaryConfigKey<Id> {
  return `${id.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase())}Bin` as BinaryConfigKey<Id>
}

export function binaryEnvName<Id extends string>(id: Id): BinaryEnvName<Id> {
  return `TTS_${id.toUpperCase().replaceAll('-', '_')}_BIN` as BinaryEnvName<Id>
}

/** The schema fields of the engine binaries (`espeakNgBin: 'espeak-ng'`, …). */
export const engineBinaryFields = Object.fromEntries(
  BINARY_ENGINES.map((engine) => [binaryConfigKey(engine.id), z.string().min(1).default(engine.defaultBinary)]),
) as { readonly [Key in BinaryConfigKey]: z.ZodDefault<z.ZodString> }

/** Their environment variables (`TTS_ESPEAK_NG_BIN: 'espeakNgBin'`, …). */
export const engineBinaryEnvNames = Object.fromEntries(BINARY_ENGINES.map((engine) => [binaryEnvName(engine.id), binaryConfigKey(engine.id)])) as {
  readonly [Id in BinaryEngineId as BinaryEnvName<Id>]: BinaryConfigKey<Id>
}

/** The parts of a parsed config the engines are made from. */
export type EngineConfig = { readonly [Key in BinaryConfigKey]: string } & { readonly command?: readonly string[] | undefined }

/** The adapters' options (binary paths, the command template) from a parsed config: the one place they are built. */
export function engineAdapterOptionsOf(config: EngineConfig): EngineAdapterOptions {
  return {
    commandTemplate: config.command,
    engines: Object.fromEntries(BINARY_ENGINES.map((engine) => [engine.id, { path: config[binaryConfigKey(engine.id)] }])),
  }
}
