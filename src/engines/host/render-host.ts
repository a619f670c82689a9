/**
 * The render host: one small child process that runs every render (engine, sox, validation)
 * for the service, so the service never starts a process itself.
 *
 * Why: Node starts a child with fork + exec, and the parent's thread waits until the child has
 * exec'd. Forking copies the parent's page tables, so the wait grows with the parent's memory:
 * ~20 ms a process from the service (an index, Fastify, metrics) on the 2-core VM we measure on,
 * twice per render (engine, sox) — event-loop time every hit in flight waited behind (the
 * `mixed` benchmark: hit p95 ~200 ms at 100 requests/s). In a ~50 MB host the wait is shorter and
 * blocks only the host.
 *
 * The host is started once and again on the next render if it dies (the renders it held fail
 * with TTS_ERR_RENDER_FAILED). Timeouts, group kills, stderr tails and every typed error work as
 * in process: the host runs the same `renderToFile`. An aborted render is aborted in the host too,
 * and settles once its processes are gone.
 */
import { fork, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { TtsError } from '../../core/errors.js'
import type { Logger, RenderedAudio, RenderJob } from '../../core/ports/index.js'
import { abortError } from '../../core/single-flight.js'
import { ENGINE_DEFAULTS } from '../engine-defaults.js'
import { engineEnvironment } from '../process/engine-environment.js'
import { RENDER_HOST_FLAG, reviveError, type HostInit, type HostReply, type HostRequest, type LogLevel, type ProbeEntries } from './render-host-protocol.js'

/** The signal of a request that cannot be aborted (a probe). */
const NEVER_ABORTED = new AbortController().signal

const EXT = path.extname(fileURLToPath(import.meta.url))
const CHILD_PATH = fileURLToPath(new URL(`./render-host-child${EXT}`, import.meta.url))

/**
 * Running from the .ts sources (tests): Node strips the types, and this resolve hook maps the
 * sources' `./x.js` imports to `./x.ts` as tsc does. The compiled service never needs it.
 */
const TS_SOURCE_HOOK =
  "import{registerHooks}from'node:module';registerHooks({resolve(s,c,n){try{return n(s,c)}catch(e){" +
  "if(!/^\\.\\.?\\//.test(s)||!s.endsWith('.js')||e?.code!=='ERR_MODULE_NOT_FOUND')throw e;return n(s.slice(0,-3)+'.ts',c)}}})"
const CHILD_EXEC_ARGV = EXT === '.ts' ? ['--import', `data:text/javascript,${encodeURIComponent(TS_SOURCE_HOOK)}`] : []

export type RenderHostOptions = Omit<HostInit, 'logLevel'> & {
  readonly logger: Logger
  /** The host's nice value, inherited by the engines (ENGINE_DEFAULTS.renderNiceness); 0 leaves it alone. */
  readonly niceness?: number | undefined
}

interface Pending {
  readonly resolve: (value: never) => void
  readonly reject: (err: unknown) => void
  readonly signal: AbortSignal
  readonly onAbort: () => void
  readonly host: ChildProcess
}

export class RenderHost {
  readonly #options: RenderHostOptions
  readonly #log: Logger
  readonly #pending = new Map<number, Pending>()
  #child: ChildProcess | undefined
  #enabled: readonly string[]
  #nextId = 1
  /** Requests each host process owes an answer to (its channel is ref'd while any). */
  readonly #owed = new WeakMap<ChildProcess, number>()
  #closed = false

  /** Starts the host process at once (it boots while the service does); renders may be sent before it is up. */
  constructor(options: RenderHostOptions) {
    this.#options = options
    this.#enabled = options.enabled
    this.#log = options.logger.child({ component: 'render-host' })
    this.#host()
  }

  /** The host process's pid (undefined between a crash and the next render). */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  /** A RenderFunction: renders `job` in the host; `signal` aborts it there. */
  readonly render = (job: RenderJob, signal: AbortSignal): Promise<RenderedAudio> => {
    if (signal.aborted) return Promise.reject(abortError(signal))
    if (this.#closed) return Promise.reject(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    const host = this.#host()
    const id = this.#nextId++
    return new Promise<RenderedAudio>((resolve, reject) => {
      const onAbort = (): void => this.#send(host, { t: 'abort', id })
      signal.addEventListener('abort', onAbort, { once: true })
      this.#await(id, { resolve, reject, signal, onAbort, host })
      this.#send(host, { t: 'render', id, job })
    })
  }

  /**
   * Runs the engine probes in the host (`EngineCatalog.detect` with `defaultEngine`) and returns
   * what each printed, for a ProbeMemo to replay here: the service gets a fresh detection
   * without starting a process itself. Rejects with the detection's error (the default engine
   * missing), or TTS_ERR_RENDER_FAILED when the host dies meanwhile.
   */
  probe(defaultEngine: string): Promise<ProbeEntries> {
    if (this.#closed) return Promise.reject(new TtsError('TTS_ERR_SHUTTING_DOWN'))
    const host = this.#host()
    const id = this.#nextId++
    return new Promise<ProbeEntries>((resolve, reject) => {
      this.#await(id, { resolve, reject, signal: NEVER_ABORTED, onAbort: () => undefined, host })
      this.#send(host, { t: 'probe', id, defaultEngine })
    })
  }

  /**
   * The engines the host may render with (the catalog's, once detected: a host started before
   * the detection, to run its probes, begins with none). A host forked again gets them too.
   */
  enable(ids: readonly string[]): void {
    this.#enabled = [...ids]
    if (this.#child !== undefined) this.#send(this.#child, { t: 'enable', ids: this.#enabled })
  }

  /** Stops the host: renders still in it are aborted there; their promises reject. */
  async close(): Promise<void> {
    this.#closed = true
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    // Keep this process up until the host is gone (the handle is unref'd while it idles).
    child.ref()
    // Disconnecting tells the host to abort its renders (their process groups) and exit.
    if (child.connected) child.disconnect()
    await exited
  }

  #host(): ChildProcess {
    if (this.#child !== undefined && this.#child.connected) return this.#child
    const child = fork(CHILD_PATH, [RENDER_HOST_FLAG], {
      execArgv: CHILD_EXEC_ARGV,
      // The engines inherit this: no secrets (API token, ESL password, Redis URLs).
      env: engineEnvironment(process.env),
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.#child = child
    this.#lowerPriority(child)
    child.on('message', (message: HostReply) => this.#received(message))
    child.on('error', (err) => this.#log.error({ err }, 'render host process error'))
    child.on('exit', (code, signal) => this.#exited(child, code, signal))
    // The host must not keep the service alive by itself (close() ends it; so does our exit).
    child.unref()
    child.channel?.unref()
    this.#send(child, this.#init())
    return child
  }

  #lowerPriority(child: ChildProcess): void {
    const niceness = this.#options.niceness ?? ENGINE_DEFAULTS.renderNiceness
    if (niceness === 0 || child.pid === undefined) return
    try {
      os.setPriority(child.pid, niceness)
    } catch (err) {
      this.#log.warn({ err, niceness }, 'cannot lower the render host priority; renders compete with hits for the CPU')
    }
  }

  #init(): HostInit {
    const { adapters, timeoutMs, killGraceMs, soxPath, logger } = this.#options
    return { adapters, enabled: this.#enabled, timeoutMs, killGraceMs, soxPath, logLevel: lowestLevelOf(logger) }
  }

  #send(child: ChildProcess, message: HostInit | HostRequest): void {
    if (!child.connected) return // Its exit handler fails what was pending.
    child.send(message, (err) => {
      if (err !== null && err !== undefined) this.#log.warn({ err }, 'could not send to the render host')
    })
  }

  #received(message: HostReply): void {
    if (message.t === 'log') {
      // Written on the unbound logger: the record names its own component (render, engines), and
      // a second `component` on top of render-host's would repeat the key in the line.
      const { component, ...fields } = message.obj
      this.#options.logger[message.level]({ ...fields, component: typeof component === 'string' ? `render-host/${component}` : 'render-host' }, message.msg)
      return
    }
    const pending = this.#pending.get(message.id)
    if (pending === undefined) return
    this.#settle(message.id, pending)
    if (message.t === 'ok') (pending.resolve as (audio: RenderedAudio) => void)(message.audio)
    else if (message.t === 'probed') (pending.resolve as (entries: ProbeEntries) => void)(message.entries)
    else pending.reject(pending.signal.aborted ? abortError(pending.signal) : reviveError(message.error))
  }

  #exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child === child) this.#child = undefined
    const lost = [...this.#pending].filter(([, p]) => p.host === child)
    if (!this.#closed || lost.length > 0) this.#log.error({ code, signal, renders: lost.length }, 'render host exited; it is started again on the next render')
    for (const [id, pending] of lost) {
      this.#settle(id, pending)
      pending.reject(
        pending.signal.aborted
          ? abortError(pending.signal)
          : new TtsError('TTS_ERR_RENDER_FAILED', { args: ['render host', `exited with ${signal ?? `code ${code}`}`], details: { exitCode: code, signal } }),
      )
    }
  }

  /**
   * The host's channel is unref'd while it idles (it must not keep the service alive by itself),
   * but an answer it owes must: nothing else may hold this process open meanwhile (a probe at
   * start, before anything listens; a render asked by a caller that listens on nothing). Held
   * from a host process's first request in flight to its last answer (or its exit).
   */
  #await(id: number, pending: Pending): void {
    const { host } = pending
    const owed = this.#owed.get(host) ?? 0
    if (owed === 0) host.channel?.ref()
    this.#owed.set(host, owed + 1)
    this.#pending.set(id, pending)
  }

  #settle(id: number, pending: Pending): void {
    this.#pending.delete(id)
    pending.signal.removeEventListener('abort', pending.onAbort)
    const { host } = pending
    const owed = (this.#owed.get(host) ?? 1) - 1
    this.#owed.set(host, owed)
    if (owed === 0) host.channel?.unref()
  }
}

/** pino's levels, lowest first: what the host may drop below the service logger's level. */
const PINO_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const

/** The lowest host log level the service writes (`level` of a pino logger); undefined when it has none. */
function lowestLevelOf(logger: Logger): LogLevel | undefined {
  const level = (logger as { readonly level?: unknown }).level
  const at = PINO_LEVELS.indexOf(level as (typeof PINO_LEVELS)[number])
  if (at <= 1) return at === -1 ? undefined : 'debug'
  // A service logging nothing at error still gets errors: an error is never dropped in the host.
  return at >= 4 ? 'error' : (PINO_LEVELS[at] as LogLevel)
}
