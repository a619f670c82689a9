/**
 * The render host's process (see render-host.ts): runs renders for the service and answers over
 * IPC. It starts the engine and sox processes, so their fork happens here, in a small process,
 * and not in the service's event loop. Started with the one argument RENDER_HOST_FLAG.
 */
import { TtsError } from '../../core/errors.js'
import type { Logger, RenderedAudio, RenderJob } from '../../core/ports/index.js'
import { adaptersById } from '../adapters/index.js'
import { EngineCatalog } from '../catalog.js'
import { createEngineRenderer } from '../pipeline/engine-renderer.js'
import { ProbeMemo } from '../probe-memo.js'
import { freezeEngineEnvironment } from '../process/engine-environment.js'
import { RENDER_HOST_FLAG, sendToService, serializeError, type HostInit, type HostReply, type HostRequest, type LogLevel } from './render-host-protocol.js'

const send = (message: HostReply): void => sendToService(message)

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']
const NOTHING = (): void => undefined

/** Log records at `lowest` and above go to the service, which writes them with its own logger. */
function ipcLogger(bindings: Record<string, unknown>, lowest: LogLevel | undefined): Logger {
  const skipped = LEVELS.slice(0, Math.max(0, LEVELS.indexOf(lowest ?? 'debug')))
  const log =
    (level: LogLevel) =>
    skipped.includes(level) ? NOTHING : (obj: object, msg?: string): void => {
      const record: Record<string, unknown> = { ...bindings }
      for (const [name, value] of Object.entries(obj)) record[name] = value instanceof Error ? serializeError(value) : value
      send({ t: 'log', level, obj: record, msg })
    }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (more) => ipcLogger({ ...bindings, ...more }, lowest) }
}

function start(init: HostInit): void {
  const adapters = adaptersById(init.adapters)
  let enabled = init.enabled
  const render = createEngineRenderer(
    {
      adapter(id) {
        const adapter = enabled.includes(id) ? adapters.get(id) : undefined
        if (adapter === undefined) throw new TtsError('TTS_ERR_UNKNOWN_ENGINE', { args: [String(id).slice(0, 40)] })
        return adapter
      },
    },
    { timeoutMs: init.timeoutMs, killGraceMs: init.killGraceMs, soxPath: init.soxPath, logger: ipcLogger({}, init.logLevel) },
  )
  const running = new Map<number, { readonly controller: AbortController; readonly done: Promise<void> }>()
  const run = (id: number, job: RenderJob): void => {
    const controller = new AbortController()
    // A promise even when the renderer throws at once (an unknown engine): never a crash of the host.
    const done = new Promise<RenderedAudio>((resolve) => resolve(render(job, controller.signal))).then(
      (audio) => send({ t: 'ok', id, audio }),
      (err: unknown) => send({ t: 'err', id, error: serializeError(err) }),
    )
    running.set(id, { controller, done: done.finally(() => running.delete(id)) })
  }
  // Probes run here for the same reason renders do: a process start from the service blocks its loop.
  const probe = (id: number, defaultEngine: string): void => {
    const recorder = ProbeMemo.recorder('')
    EngineCatalog.detect({ ...init.adapters, defaultEngine, soxPath: init.soxPath, logger: ipcLogger({}, init.logLevel), memo: recorder, logFound: false }).then(
      () => send({ t: 'probed', id, entries: recorder.entries() }),
      (err: unknown) => send({ t: 'err', id, error: serializeError(err) }),
    )
  }
  process.on('message', (message: HostRequest) => {
    if (message.t === 'render') run(message.id, message.job)
    else if (message.t === 'abort') running.get(message.id)?.controller.abort()
    else if (message.t === 'probe') probe(message.id, message.defaultEngine)
    else if (message.t === 'enable') enabled = message.ids
  })
  // The service is gone (exit, crash, SIGKILL): kill what runs (their process groups) and leave.
  process.on('disconnect', () => {
    for (const { controller } of running.values()) controller.abort()
    void Promise.allSettled([...running.values()].map((r) => r.done)).then(() => process.exit(0))
  })
}

if (process.argv[2] === RENDER_HOST_FLAG && process.send !== undefined) {
  // Forked with the engines' environment (render-host.ts), and nothing here sets a variable.
  freezeEngineEnvironment()
  process.once('message', (init: HostInit) => start(init))
}
