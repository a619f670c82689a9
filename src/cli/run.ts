/**
 * The `tts-cache` command. The only place (with src/cli/*) that reads process.env, listens on
 * ports and handles signals; everything else gets a frozen Config and injected adapters.
 */
import { readFileSync } from 'node:fs'
import { USAGE } from './args.js'
import { describeError, err, EXIT, out, UsageError } from './output.js'

type Command = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>

// Each command is imported only when run: `get` must not pay for Fastify or BullMQ.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  worker: async () => (await import('./commands/worker.js')).workerCommand,
  get: async () => (await import('./commands/get.js')).getCommand,
  prewarm: async () => (await import('./commands/prewarm.js')).prewarmCommand,
  stats: async () => (await import('./commands/stats.js')).statsCommand,
  purge: async () => (await import('./commands/purge.js')).purgeCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    out(USAGE)
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  if (name === '-v' || name === '--version') {
    out(version())
    return EXIT.ok
  }
  const load = COMMANDS[name]
  if (load === undefined) {
    err(`tts-cache: unknown command '${name}'\n\n${USAGE}`)
    return EXIT.usage
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    out(USAGE)
    return EXIT.ok
  }
  const command = await load()
  return command(rest, process.env)
}

export function run(argv: readonly string[]): void {
  main(argv).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      err(`tts-cache: ${error.message}\nRun 'tts-cache --help' for usage.`)
      process.exitCode = EXIT.usage
      return
    }
    err(`tts-cache: ${describeError(error)}`)
    process.exitCode = EXIT.failed
  },
  )
}
