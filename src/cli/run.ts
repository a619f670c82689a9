#!/usr/bin/env node
/**
 * The `tts-cache` command. The only place (with src/cli/*) that reads process.env, listens on
 * ports and handles signals; everything else gets a frozen Config and injected adapters.
 */
import { readFileSync } from 'node:fs'
import { USAGE } from './args.js'
import { doctorCommand } from './commands/doctor.js'
import { getCommand } from './commands/get.js'
import { prewarmCommand } from './commands/prewarm.js'
import { purgeCommand } from './commands/purge.js'
import { serveCommand } from './commands/serve.js'
import { statsCommand } from './commands/stats.js'
import { workerCommand } from './commands/worker.js'
import { describeError, err, EXIT, out, UsageError } from './output.js'

type Command = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: serveCommand,
  worker: workerCommand,
  get: getCommand,
  prewarm: prewarmCommand,
  stats: statsCommand,
  purge: purgeCommand,
  doctor: doctorCommand,
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
  const command = COMMANDS[name]
  if (command === undefined) {
    err(`tts-cache: unknown command '${name}'\n\n${USAGE}`)
    return EXIT.usage
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    out(USAGE)
    return EXIT.ok
  }
  return command(rest, process.env)
}

main(process.argv.slice(2)).then(
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
