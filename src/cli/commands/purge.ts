import { isCacheKey } from '../../core/cache-key.js'
import { purgeEntries, type PurgeResult } from '../../core/purge.js'
import type { App } from '../../app/build-app.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { confirm, type Prompt } from '../confirm.js'
import { withLocalApp } from '../local-app.js'
import { EXIT, json, out, UsageError } from '../output.js'

const OPTIONS = {
  key: { type: 'string' },
  all: { type: 'boolean' },
  voice: { type: 'string' },
  engine: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'include-pinned': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  json: { type: 'boolean' },
} as const

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values']

/**
 * `tts-cache purge --key K | --all | --voice V [--engine E]`: pinned entries stay unless
 * `--include-pinned`; `--dry-run` only counts; `--all` asks on a terminal (`--yes` skips) and is
 * refused without `--yes` elsewhere. `prompt` is the terminal (tests give their own).
 */
export async function purgeCommand(argv: readonly string[], env: NodeJS.ProcessEnv, prompt: Prompt = { input: process.stdin, output: process.stderr }): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS)
  checkSelection(values, positionals)
  const dryRun = values['dry-run'] === true
  if (values.all === true && !dryRun && values.yes !== true && prompt.input.isTTY !== true) {
    throw new UsageError('purge --all removes every entry: pass --yes to confirm when not on a terminal (or --dry-run to count them)')
  }
  return withLocalApp(env, flagOverrides(values), values.config, async (app, config) => {
    if (values.key !== undefined) return purgeKey(app, values.key, values)
    const filter = { ...(values.voice === undefined ? {} : { voice: values.voice }), ...(values.engine === undefined ? {} : { engine: values.engine }) }
    const request = { filter, includePinned: values['include-pinned'] === true, dryRun }
    if (values.all === true && !dryRun && values.yes !== true) {
      const count = (await purgeEntries(app.store, { ...request, dryRun: true })).wouldRemove ?? 0
      const what = request.includePinned ? 'entries, pinned ones included,' : 'unpinned entries'
      if (!(await confirm(prompt, `Remove all ${count} ${what} from ${config.cacheDir}?`))) {
        out('nothing removed')
        return EXIT.failed
      }
    }
    report(await purgeEntries(app.store, request), values.json === true)
    return EXIT.ok
  })
}

/** Exactly one of --key, --all, --voice/--engine; no empty value (`--voice ""` is not "any voice"). */
function checkSelection(values: Values, positionals: readonly string[]): void {
  for (const name of ['key', 'voice', 'engine'] as const) {
    if (values[name]?.trim() === '') throw new UsageError(`--${name} needs a value, got an empty string (use --all to purge everything)`)
  }
  const selection = values.voice !== undefined || values.engine !== undefined
  const modes = [values.key !== undefined, values.all === true, selection].filter(Boolean).length
  if (positionals.length > 0 || modes !== 1) throw new UsageError('purge needs exactly one of --key K, --all, or --voice/--engine')
  if (values.key !== undefined && !isCacheKey(values.key)) throw new UsageError(`--key must be a 64-hex cache key, got '${values.key}'`)
}

/** --key: that entry only; a pinned one only with --include-pinned. Exit 1 when there was nothing to remove. */
async function purgeKey(app: App, key: string, values: Values): Promise<number> {
  const entry = await app.store.describe(key)
  if (entry?.pinned === true && values['include-pinned'] !== true) {
    if (values.json === true) json({ dryRun: values['dry-run'] === true, removed: 0, keptPinned: 1 })
    else out(`entry ${key} is pinned: kept (pass --include-pinned to remove it)`)
    return EXIT.failed
  }
  const result: PurgeResult =
    values['dry-run'] === true
      ? { dryRun: true, removed: 0, wouldRemove: entry === undefined ? 0 : 1, keptPinned: 0 }
      : { dryRun: false, removed: (await app.store.remove(key)) ? 1 : 0, keptPinned: 0 }
  report(result, values.json === true)
  return result.removed + (result.wouldRemove ?? 0) === 0 ? EXIT.failed : EXIT.ok
}

function entries(n: number): string {
  return `${n} entr${n === 1 ? 'y' : 'ies'}`
}

function report(result: PurgeResult, asJson: boolean): void {
  if (asJson) {
    json(result)
    return
  }
  const kept = result.keptPinned > 0 ? `, ${result.dryRun ? 'keep' : 'kept'} ${result.keptPinned} pinned (--include-pinned removes pinned ones too)` : ''
  if (result.dryRun) out(`dry run: would remove ${entries(result.wouldRemove ?? 0)}${kept}; nothing removed`)
  else out(`removed ${entries(result.removed)}${kept}`)
}
