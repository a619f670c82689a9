/**
 * The `tts-cache` command. The only place (with src/cli/*) that reads process.env, listens on
 * ports and handles signals; everything else gets a frozen Config and injected adapters.
 *
 * commander parses the command line (per-command help, global options before or after the
 * command, "did you mean" for commands and options); each command then gets its options back
 * as a canonical argv (`--name=value`, `--` before the arguments) for its own strict parse.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { COMMAND_SPECS, EXIT_CODES_HELP, type CommandSpec } from './command-specs.js'
import { describeError, err, EXIT, tolerateClosedStdout, UsageError } from './output.js'

type CommandRun = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>

// Each command is imported only when run: `get` must not pay for Fastify or BullMQ.
const COMMANDS: Readonly<Record<string, () => Promise<CommandRun>>> = {
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

/** The options commander parsed, back as `--name=value` / `--flag`, then `--` and the arguments. */
export function canonicalArgv(options: Readonly<Record<string, unknown>>, args: readonly string[]): string[] {
  const argv: string[] = []
  for (const [name, value] of Object.entries(options)) {
    const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
    if (value === true) argv.push(flag)
    else if (typeof value === 'string') argv.push(`${flag}=${value}`)
  }
  return args.length === 0 ? argv : [...argv, '--', ...args]
}

function addCommand(program: Command, spec: CommandSpec, ran: (code: number) => void): void {
  const command = program.command(spec.name).description(spec.details === undefined ? spec.summary : `${spec.summary}\n${spec.details}`)
  if (spec.argument !== undefined) command.argument(spec.argument.name, spec.argument.description)
  for (const option of spec.options) command.option(option.flags, option.description)
  command.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join('\n')}\n\n${EXIT_CODES_HELP}`)
  command.action(async (...received: unknown[]) => {
    const self = received.at(-1) as Command
    const load = COMMANDS[spec.name]
    if (load === undefined) throw new Error(`unreachable: no module for ${spec.name}`)
    const run = await load()
    ran(await run(canonicalArgv(self.optsWithGlobals(), self.processedArgs as string[]), process.env))
  })
}

function buildProgram(ran: (code: number) => void): Command {
  const program = new Command('tts-cache')
    .description('Render-once TTS cache for FreeSWITCH: content-addressed WAVs served over the Event Socket and HTTP')
    .usage('<command> [options]')
    .version(version(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help (tts-cache <command> --help: that command, with examples)')
    .option('--config <file>', 'JSON config file (also TTS_CONFIG); environment variables win over it')
    .option('--cache-dir <dir>', 'cache directory (same as TTS_CACHE_DIR)')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      // Errors are printed by run() below, with the hint for their case.
      outputError: () => undefined,
    })
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
  for (const spec of COMMAND_SPECS) addCommand(program, spec, ran)
  return program
}

/** The usage error commander raised, said the tool's way, with a hint where one helps. */
function usageMessage(error: CommanderError, argv: readonly string[]): string {
  const message = error.message.replace(/^error: /, '')
  const name = argv.find((a) => COMMANDS[a] !== undefined)
  const unknown = /^unknown option '([^']*)'/.exec(message)?.[1]
  const takesText = COMMAND_SPECS.find((s) => s.name === name)?.argument !== undefined
  const hint =
    unknown !== undefined && takesText && !unknown.startsWith('--')
      ? `\nText that starts with "-" goes after --: tts-cache ${name ?? 'get'} -- "${unknown}"`
      : ''
  return `tts-cache: ${message}${hint}\nRun 'tts-cache ${name === undefined ? '' : `${name} `}--help' for usage.`
}

async function main(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok
  const program = buildProgram((c) => (code = c))
  if (argv.length === 0) {
    program.outputHelp()
    return EXIT.usage
  }
  try {
    await program.parseAsync([...argv], { from: 'user' })
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return error.exitCode === 0 ? EXIT.ok : EXIT.usage
    err(usageMessage(error, argv))
    return EXIT.usage
  }
  return code
}

export function run(argv: readonly string[]): void {
  tolerateClosedStdout()
  main(argv).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      const name = argv.find((a) => COMMANDS[a] !== undefined)
      err(`tts-cache: ${error.message}\nRun 'tts-cache ${name === undefined ? '' : `${name} `}--help' for usage.`)
      process.exitCode = EXIT.usage
      return
    }
    err(`tts-cache: ${describeError(error)}`)
    process.exitCode = EXIT.failed
  },
  )
}
