import { flagOverrides, parseCommandArgs } from '../args.js'
import { withLocalApp } from '../local-app.js'
import { EXIT, json, out } from '../output.js'

export async function statsCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } })
  return withLocalApp(env, flagOverrides(values), values.config, async (app, config) => {
    const stats = { cacheDir: config.cacheDir, ...app.store.stats() }
    if (values.json === true) {
      json(stats)
    } else {
      const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`
      out(`cache dir      ${stats.cacheDir}`)
      out(`entries        ${stats.entries} (${stats.pinnedEntries} pinned)`)
      out(`bytes          ${mib(stats.bytes)} of ${mib(stats.maxBytes)} (${mib(stats.pinnedBytes)} pinned)`)
      out(`evictions      ${stats.evictions} (this run)`)
    }
    return EXIT.ok
  })
}
