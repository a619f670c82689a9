/** Spawns test/harness/store/child.ts and talks to it line by line (handshakes, never sleeps). */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

export interface StoreChild {
  readonly process: ChildProcess
  readonly pid: number
  /** The next stdout line (rejects if the child exits first, with its stderr). */
  nextLine(): Promise<string>
  send(command: string): void
  /** Resolves with the exit code (or the signal name) once the child is gone. */
  readonly exited: Promise<number | string>
  kill(signal?: NodeJS.Signals): Promise<number | string>
}

/**
 * `wrap`: a command the child runs under, its argv before node's (e.g. strace and its options).
 */
export function spawnStoreChild(mode: 'crash' | 'hold' | 'commit', cacheDir: string, key: string, wrap: readonly string[] = []): StoreChild {
  const argv = [process.execPath, '--import', path.join(here, '../ts-hooks.mjs'), path.join(here, 'child.ts'), mode, cacheDir, key]
  const [file = process.execPath, ...args] = [...wrap, ...argv]
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  if (child.pid === undefined) throw new Error('store child did not start')
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk
  })
  // 'close' comes after 'exit' once stdout/stderr are drained, so no line is lost.
  const exited = new Promise<number | string>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const lines: string[] = []
  const readers: { resolve: (line: string) => void; reject: (err: Error) => void }[] = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const reader = readers.shift()
    if (reader === undefined) lines.push(line)
    else reader.resolve(line)
  })
  void exited.then((how) => {
    for (const reader of readers.splice(0)) reader.reject(new Error(`store child exited (${how}): ${stderr}`))
  })
  let gone = false
  void exited.then(() => {
    gone = true
  })
  return {
    process: child,
    pid: child.pid,
    exited,
    nextLine() {
      const line = lines.shift()
      if (line !== undefined) return Promise.resolve(line)
      if (gone) return Promise.reject(new Error(`store child already exited: ${stderr}`))
      return new Promise((resolve, reject) => readers.push({ resolve, reject }))
    },
    send(command) {
      child.stdin.write(`${command}\n`)
    },
    kill(signal = 'SIGKILL') {
      child.kill(signal)
      return exited
    },
  }
}
