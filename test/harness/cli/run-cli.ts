import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../app/test-app.js'

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** As another user (`uid`/`gid`: only root can ask for that). */
export interface CliUser {
  readonly uid: number
  readonly gid: number
}

/**
 * Runs the built `tts-cache` (dist/cli/main.js, kept fresh by test/global-setup.ts) in a
 * separate Node process with a clean environment plus `env`.
 */
export function runCli(args: readonly string[], env: Record<string, string>, input?: string, user?: CliUser): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

