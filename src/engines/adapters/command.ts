import { createHash } from 'node:crypto'
import { TtsError } from '../../core/errors.js'
import type { EngineAdapter, EngineDefinition, EngineDetection, EngineRenderArgs, ProbeOptions } from './engine-adapter.js'
import { requireExecutable } from './engine-probe.js'

export interface CommandEngineOptions {
  /**
   * The operator's argv template: the binary first, then its arguments. `{out}`, `{voice}` and
   * `{rate}` are replaced inside each element (never split, never a shell): `--out={out}` works.
   * `{voice}` becomes '' for the default voice. There is no `{text}`: the text always goes on
   * stdin. The program must write a WAV to `{out}` and exit 0.
   */
  readonly template: readonly string[]
  readonly env?: Readonly<Record<string, string>> | undefined
  /**
   * Version for cache keys. Default: a digest of the template, so editing the template yields new
   * keys; set it (and bump it) when the program behind the template changes its audio.
   */
  readonly version?: string | undefined
}

const PLACEHOLDER = /\{([^{}]*)\}/g
const KNOWN_PLACEHOLDERS = new Set(['out', 'voice', 'rate'])

/** An operator-defined engine. Throws TTS_ERR_CONFIG for an unusable template. */
export function createCommandEngine(options: CommandEngineOptions): EngineAdapter {
  const template = validateTemplate(options.template)
  const [binary, ...rest] = template as [string, ...string[]]
  const id = commandEngine.id
  return {
    id,
    binary,
    textInput: 'stdin',
    env: options.env,
    async detect(probe: ProbeOptions): Promise<EngineDetection> {
      // An arbitrary program has no known version flag; finding it is all we can check.
      await requireExecutable(id, binary, probe.searchPath)
      return { version: options.version ?? templateVersion(template) }
    },
    argv(args: EngineRenderArgs) {
      return rest.map((element) => substitute(element, args))
    },
  }
}

function substitute(element: string, { outPath, voice, sampleRate }: EngineRenderArgs): string {
  const values: Record<string, string> = { out: outPath, voice, rate: String(sampleRate) }
  return element.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole)
}

function validateTemplate(template: readonly string[]): readonly string[] {
  const problem = templateProblem(template)
  if (problem !== undefined) throw new TtsError('TTS_ERR_CONFIG', { args: [`command template: ${problem}`] })
  return Object.freeze([...template])
}

function templateProblem(template: readonly string[]): string | undefined {
  if (!Array.isArray(template) || template.length === 0) return 'must be a non-empty array (binary first)'
  if (!template.every((element) => typeof element === 'string')) return 'every element must be a string'
  const [binary, ...rest] = template
  if (binary === undefined || binary === '' || binary.includes('{')) return 'the first element must be the binary, without placeholders'
  for (const element of rest) {
    for (const match of element.matchAll(PLACEHOLDER)) {
      const name = match[1] ?? ''
      if (name === 'text') return '{text} is not allowed: the text always goes on stdin'
      if (!KNOWN_PLACEHOLDERS.has(name)) return `unknown placeholder {${name}} (known: {out}, {voice}, {rate})`
    }
  }
  if (!rest.some((element) => element.includes('{out}'))) return 'no {out} placeholder: the engine must write the WAV there'
  return undefined
}

function templateVersion(template: readonly string[]): string {
  return `template-${createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 16)}`
}

/**
 * The operator's own program in the engine registry (adapters/index.ts): enabled only when a
 * template is configured (`TTS_COMMAND`); its binary is the template's first element.
 */
export const commandEngine = {
  id: 'command',
  create: (own, { commandTemplate }) => (commandTemplate === undefined ? undefined : createCommandEngine({ template: commandTemplate, env: own.env, version: own.version })),
  notConfigured: 'no command template is configured',
} as const satisfies EngineDefinition
