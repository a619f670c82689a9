/**
 * Starts an installed FreeSWITCH (a package's /usr/bin/freeswitch, an install prefix) the way
 * `../shared/freeswitch/fs.sh start` starts the shared build: the suite's own minimal
 * configuration (./conf, the same files fs.sh ships) copied into a temporary RUNDIR with a
 * vars.xml naming the Event Socket port, password and the caller's dialplan and phrase
 * directories; every directory FreeSWITCH writes to inside RUNDIR; its own session (setsid);
 * ready when the Event Socket answers `api status` with "is ready". Bounded: a start that takes
 * longer than `startTimeoutMs` is killed and reported with its log tail.
 */
import { spawn } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const CONF = join(dirname(fileURLToPath(import.meta.url)), 'conf')
const WRITABLE = ['log', 'db', 'run', 'temp', 'storage', 'cache', 'recordings', 'grammar', 'scripts', 'sounds', 'certs', 'htdocs'] as const

export interface LaunchOptions {
  readonly binary: string
  readonly modDir: string
  readonly eslPort: number
  readonly password?: string
  readonly dialplanDir?: string
  readonly phrasesDir?: string
  readonly loglevel?: string
  readonly startTimeoutMs?: number
  /** True once FreeSWITCH on `port` reports "is ready" (the caller owns the ESL client). */
  readonly isReady: (port: number, password: string) => Promise<boolean>
}

export interface LaunchedFreeSwitch {
  readonly rundir: string
  readonly pid: number
  readonly eslPort: number
  readonly password: string
  readonly logFile: string
  stop(): Promise<void>
}

/** A value safe inside the double-quoted XML attribute vars.xml writes (fs.sh refuses the same). */
function xmlSafe(what: string, value: string): string {
  if (/["<>&\s]/.test(value)) throw new Error(`launch FreeSWITCH: ${what} must not contain spaces, quotes, <, > or &: ${value}`)
  return value
}

function varsXml(options: LaunchOptions, rundir: string, password: string): string {
  const set = (name: string, value: string): string => `  <X-PRE-PROCESS cmd="set" data="${name}=${value}"/>`
  return [
    '<include>',
    '  <!-- written by test/harness/freeswitch/launch.ts for one test run -->',
    set('esl_port', String(options.eslPort)),
    set('esl_password', xmlSafe('the ESL password', password)),
    set('loglevel', xmlSafe('the log level', options.loglevel ?? 'debug')),
    set('dialplan_dir', xmlSafe('the dialplan directory', options.dialplanDir ?? join(rundir, 'conf/dialplan/default'))),
    set('phrases_dir', xmlSafe('the phrases directory', options.phrasesDir ?? join(rundir, 'conf/lang/en/ivr'))),
    set('sound_prefix', '$${sounds_dir}'),
    set('domain', '$${local_ip_v4}'),
    set('domain_name', '$${domain}'),
    set('tts_engine', 'flite'),
    set('tts_voice', 'kal'),
    '</include>',
    '',
  ].join('\n')
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text.split('\n').slice(-lines).join('\n')
}

export async function launchInstalledFreeSwitch(options: LaunchOptions): Promise<LaunchedFreeSwitch> {
  const rundir = await mkdtemp(join(tmpdir(), 'tts-fs-'))
  xmlSafe('RUNDIR', rundir)
  const password = options.password ?? 'ClueCon'
  await cp(CONF, join(rundir, 'conf'), { recursive: true })
  await mkdir(join(rundir, 'conf/dialplan/default'), { recursive: true })
  await mkdir(join(rundir, 'conf/lang/en/ivr'), { recursive: true })
  await Promise.all(WRITABLE.map((dir) => mkdir(join(rundir, dir), { recursive: true })))
  await writeFile(join(rundir, 'conf/vars.xml'), varsXml(options, rundir, password))

  const consoleLog = join(rundir, 'log/console.log')
  const out = openSync(consoleLog, 'a')
  const dirFlags = WRITABLE.flatMap((dir) => [`-${dir}`, join(rundir, dir)])
  // -nc -nf: no console, no fork; -np: no realtime priority; -nonat/-nonatmap: no NAT discovery.
  // detached: its own session, like fs.sh's setsid; stdout/stderr (errors before mod_logfile) to console.log.
  const child = spawn(
    options.binary,
    ['-nc', '-nf', '-np', '-nonat', '-nonatmap', '-base', rundir, '-conf', join(rundir, 'conf'), '-mod', options.modDir, ...dirFlags],
    { cwd: rundir, detached: true, stdio: ['ignore', out, out] },
  )
  closeSync(out)
  const pid = child.pid
  if (pid === undefined) throw new Error(`launch FreeSWITCH: ${options.binary} did not start`)
  let exitedWith: string | undefined
  child.once('exit', (code, signal) => {
    exitedWith = signal ?? `exit code ${code}`
  })
  const stop = async (): Promise<void> => {
    if (exitedWith === undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      process.kill(-pid, 'SIGKILL')
      await exited
    }
    await rm(rundir, { recursive: true, force: true })
  }

  const logFile = join(rundir, 'log/freeswitch.log')
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000)
  for (;;) {
    if (exitedWith !== undefined) {
      const why = `${options.binary} exited during start (${exitedWith})\n${await tail(logFile)}\n${await tail(consoleLog)}`
      await stop()
      throw new Error(`launch FreeSWITCH: ${why}`)
    }
    if (await options.isReady(options.eslPort, password).catch(() => false)) break
    if (Date.now() > deadline) {
      const log = await tail(logFile)
      await stop()
      throw new Error(`launch FreeSWITCH: not ready on 127.0.0.1:${options.eslPort} within ${options.startTimeoutMs ?? 30_000} ms\n${log}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return { rundir, pid, eslPort: options.eslPort, password, logFile, stop }
}
