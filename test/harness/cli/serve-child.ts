import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../app/test-app.js'

export interface ServeChild {
  /** http://127.0.0.1:<the port serve chose> */
  readonly base: string
  /** SIGTERM (SIGKILL 15 s later if it is still running); resolves with the exit code. */
  readonly stop: () => Promise<number | null>
}

/**
 * Starts the built `serve` (dist/cli/main.js) on ports chosen by the system, with `env` over a
 * minimal PATH/HOME and `nodeArgs` before the script; resolves once the HTTP API says it listens
 * (its port read from that log line), rejects with the output if serve exits first.
 */
export async function startServeChild(options: { readonly env?: Readonly<Record<string, string>>; readonly nodeArgs?: readonly string[] } = {}): Promise<ServeChild> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), join(ROOT, 'dist/cli/main.js'), 'serve'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      ...options.env,
      TTS_HTTP_HOST: '127.0.0.1',
      TTS_HTTP_PORT: '0',
      TTS_ESL_HOST: '127.0.0.1',
      TTS_ESL_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = /"port":(\d+),[^\n]*"msg":"HTTP API listening"/.exec(output)
      if (match !== null) resolve(Number(match[1]))
    })
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${output}`)))
  })
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      // Bounded: a serve that does not stop on SIGTERM is killed.
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
