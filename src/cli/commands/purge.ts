import { isCacheKey } from '../../core/cache-key.js'
import { flagOverrides, parseCommandArgs } from '../args.js'
import { withLocalApp } from '../local-app.js'
import { EXIT, json, out, UsageError } from '../output.js'

export async function purgeCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    key: { type: 'string' },
    all: { type: 'boolean' },
    voice: { type: 'string' },
    engine: { type: 'string' },
    json: { type: 'boolean' },
  })
  const selection = values.voice !== undefined || values.engine !== undefined
  const modes = [values.key !== undefined, values.all === true, selection].filter(Boolean).length
  if (positionals.length > 0 || modes !== 1) throw new UsageError('purge needs exactly one of --key K, --all, or --voice/--engine')
  if (values.key !== undefined && !isCacheKey(values.key)) throw new UsageError(`--key must be a 64-hex cache key, got '${values.key}'`)
  return withLocalApp(env, flagOverrides(values), values.config, async (app) => {
    let removed: number
    if (values.key !== undefined) removed = (await app.store.remove(values.key)) ? 1 : 0
    else if (values.all === true) removed = await app.store.removeAll()
    else removed = await app.store.removeWhere({ ...(values.voice === undefined ? {} : { voice: values.voice }), ...(values.engine === undefined ? {} : { engine: values.engine }) })
    if (values.json === true) json({ removed })
    else out(`removed ${removed} entr${removed === 1 ? 'y' : 'ies'}`)
    return values.key !== undefined && removed === 0 ? EXIT.failed : EXIT.ok
  })
}
