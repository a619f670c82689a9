/**
 * Runs a cluster role (a serving node, a render worker) as a separate OS process, so "cluster"
 * in a test is not an artefact of sharing one process. Speaks JSON lines: the child reports on
 * stdout, takes commands on stdin. Handshakes only, never sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

export type ChildMessage = Record<string, unknown> & { readonly type: string }

export interface ClusterChild {
  readonly pid: number
  /** The next message of `type` (earlier messages of other types are skipped). Rejects if the child exits first. */
  next(type: string): Promise<ChildMessage>
  send(command: Record<string, unknown>): void
  readonly exited: Promise<number | string>
  kill(signal?: NodeJS.Signals): Promise<number | string>
}

/** Spawns `test/harness/redis/<script>` under Node with the TS hooks; argv is passed as is (no shell). */
export function spawnClusterChild(script: 'cluster-node.ts' | 'cluster-worker.ts', args: readonly string[]): ClusterChild {
  const child: ChildProcess = spawn(process.execPath, ['--import', path.join(here, '../ts-hooks.mjs'), path.join(here, script), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env },
  })
  if (child.pid === undefined) throw new Error(`${script} did not start`)
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000)
  })
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const inbox: ChildMessage[] = []
  const readers: { type: string; resolve: (m: ChildMessage) => void }[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: ChildMessage
    try {
      message = JSON.parse(line) as ChildMessage
    } catch {
      return
    }
    const index = readers.findIndex((r) => r.type === message.type)
    if (index === -1) inbox.push(message)
    else readers.splice(index, 1)[0]?.resolve(message)
  })
  let gone: string | undefined
  void exited.then((how) => {
    gone = `${script} exited (${how}): ${stderr}`
  })
  return {
    pid: child.pid,
    exited,
    next(type) {
      const index = inbox.findIndex((m) => m.type === type)
      if (index !== -1) return Promise.resolve(inbox.splice(index, 1)[0] as ChildMessage)
      if (gone !== undefined) return Promise.reject(new Error(gone))
      return new Promise((resolve, reject) => {
        readers.push({ type, resolve })
        void exited.then(() => reject(new Error(gone ?? `${script} exited`)))
      })
    },
    send(command) {
      child.stdin?.write(`${JSON.stringify(command)}\n`)
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
