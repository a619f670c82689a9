/**
 * The shape every render engine adapter has. An adapter only knows its CLI: how to probe it
 * and which argv to give it. Running it (timeout, group kill, stderr tail, typed errors) is
 * `runEngineProcess`; turning its output into a canonical WAV is `renderToFile`.
 */
import type { ProbeMemo } from '../probe-memo.js'

/** What an adapter needs to build one render's argv. Never holds the text. */
export interface EngineRenderArgs {
  /** Absolute path the engine must write its WAV to (a scratch file whose name ends in `.wav`). */
  readonly outPath: string
  /** '' means the engine's default voice. Already checked against the catalog. */
  readonly voice: string
  /** Requested output rate (Hz). Engines that can render at a given rate are asked to. */
  readonly sampleRate: number
}

/** `EngineRenderArgs` of a render whose WAV goes to stdout (see `EngineAdapter.stdoutArgv`). */
export type StdoutRenderArgs = Omit<EngineRenderArgs, 'outPath'>

/** What `detect()` learnt about an installed engine. */
export interface EngineDetection {
  /** Goes into every cache key of this engine: a new version never reuses old audio. */
  readonly version: string
  /** The voices the engine lists; absent when it cannot list them (any valid name passes). */
  readonly voices?: ReadonlySet<string>
  /**
   * Decides whether `voice` names a voice (e.g. espeak-ng's `en+f3` variants, case-insensitive
   * names). When absent, `voices.has(voice)` decides.
   */
  readonly hasVoice?: (voice: string) => boolean
}

/**
 * How the text reaches the engine. `stdin` for every engine that can read it; `argv-after-dashes`
 * only for CLIs that cannot (pico2wave): the text is then one argv element after `--`, so it can
 * never be taken for an option, and it still never passes through a shell.
 */
export type TextInput = 'stdin' | 'argv-after-dashes'

/** Bounds for start-up probes (`--version`, voice lists). */
export interface ProbeOptions {
  readonly timeoutMs: number
  readonly killGraceMs: number
  readonly signal?: AbortSignal | undefined
  /** PATH to find binaries that are detected without being run (pinned versions, `command`). */
  readonly searchPath?: string | undefined
  /** Replays and records probe outputs (`serve` starts without running them; see probe-memo.ts). */
  readonly memo?: ProbeMemo | undefined
}

export interface EngineAdapter {
  /** The engine id used in requests and cache keys (`espeak-ng`, `swift`, …). */
  readonly id: string
  /** Binary path, or a name looked up on PATH. */
  readonly binary: string
  readonly textInput: TextInput
  /** Extra environment for the engine's processes (merged over the service's). */
  readonly env: Readonly<Record<string, string>> | undefined
  /** Probes the installed engine. Throws TtsError TTS_ERR_ENGINE_UNAVAILABLE when it cannot run. */
  detect(options: ProbeOptions): Promise<EngineDetection>
  /** The argv (without the binary) of one render. Never contains the text. */
  argv(args: EngineRenderArgs): readonly string[]
  /**
   * The argv of a render that writes its WAV to stdout, for engines that can (espeak-ng's
   * `--stdout`). When the output needs converting, the pipeline then streams it into sox running
   * at the same time, instead of converting a scratch file afterwards. A streamed header may carry
   * placeholder sizes (the engine cannot seek back), so only its format is trusted. Absent: the
   * engine writes a file (`argv`). Never contains the text.
   */
  stdoutArgv?(args: StdoutRenderArgs): readonly string[]
  /** The rate the engine will write, when known in advance (the pipeline still trusts the header). */
  nativeRate?(args: EngineRenderArgs): number | undefined
}

/** Per-engine options shared by every adapter. */
export interface EngineBinaryOptions {
  /** Binary path or name on PATH. Default: the engine's usual name. */
  readonly path?: string | undefined
  /** Extra environment for the engine's processes. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /**
   * Pins the version used in cache keys instead of asking the binary (for CLIs without a version
   * flag, or to keep keys across a harmless upgrade). The binary must still be found.
   */
  readonly version?: string | undefined
}

/**
 * What adapters are made from: plain data, so the render host process makes the same ones from
 * what crosses its IPC channel. `engines` is keyed by engine id; an id no engine has is ignored.
 */
export interface EngineAdapterOptions {
  /** Per-engine options. The `command` engine takes no `path`: its binary is the template's first element. */
  readonly engines?: Readonly<Record<string, EngineBinaryOptions | undefined>> | undefined
  /** Enables the `command` engine (argv template, see createCommandEngine). */
  readonly commandTemplate?: readonly string[] | undefined
}

/**
 * One entry of the engine registry (`adapters/index.ts`): an engine id and how to make its
 * adapter. The ids the config accepts, the catalog's adapters and the config's binary settings
 * are all derived from the registry's entries.
 */
export interface EngineDefinition {
  /** The engine id (lower-case letters, digits and `-`): requests, cache keys, `TTS_ENGINE`. */
  readonly id: string
  /**
   * The binary's usual name, when the operator may point at another: that gives the engine a
   * config key `<camelCaseId>Bin` and an environment variable `TTS_<ID>_BIN` (`pico2wave` →
   * `pico2waveBin`, `TTS_PICO2WAVE_BIN`). Absent: no binary setting (`command`: the template names it).
   */
  readonly defaultBinary?: string
  /** Makes the adapter (nothing is probed). undefined: the options leave this engine unconfigured. */
  create(own: EngineBinaryOptions, options: EngineAdapterOptions): EngineAdapter | undefined
  /** Why the engine cannot be the default when `create` returned undefined (TTS_ERR_ENGINE_UNAVAILABLE). */
  readonly notConfigured?: string
}
