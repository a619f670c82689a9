import { flagOverrides, parseCommandArgs } from '../args.js'
import { withLocalApp } from '../local-app.js'
import { EXIT, json, out, UsageError } from '../output.js'

export async function getCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    voice: { type: 'string' },
    engine: { type: 'string' },
    rate: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (positionals.length !== 1) throw new UsageError('get takes exactly one text argument (quote it)')
  const text = positionals[0] ?? ''
  return withLocalApp(env, flagOverrides(values), values.config, async (app) => {
    const result = await app.service.get(
      { text, voice: values.voice, engine: values.engine, sampleRate: values.rate },
      { source: 'cli', priority: 'live' },
    )
    if (values.json === true) {
      const { key, path, status, bytes, durationMs } = result
      json({ key, path, status, bytes, durationMs })
    } else {
      out(result.path)
    }
    return EXIT.ok
  })
}
