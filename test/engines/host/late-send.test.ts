/**
 * The render host child may still have something to say after the service has gone: its
 * shutdown disconnects the IPC channel, the host aborts its renders, and tearing a sox pipe down
 * logs (EPIPE) through IPC. Node emits ERR_IPC_CHANNEL_CLOSED for a send on a closed channel and,
 * with no listener, the host crashed with a stack trace on every `serve` stop that caught a
 * render (seen running docs/http.md's examples). Real child processes, real IPC channels.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../harness/app/test-app.js'

/** Forks a child that disconnects its channel, then sends on it the given way; its exit and stderr. */
async function sendAfterDisconnect(how: 'raw' | 'sendToService'): Promise<{ code: number | null; stderr: string }> {
  const protocol = JSON.stringify(join(ROOT, 'dist/engines/host/render-host-protocol.js'))
  const body =
    how === 'raw'
      ? `process.disconnect(); process.send({ t: 'log', level: 'debug', obj: {}, msg: 'late' })`
      : `const { sendToService } = await import(${protocol}); process.disconnect(); sendToService({ t: 'log', level: 'debug', obj: {}, msg: 'late' })`
  const child = spawn(process.execPath, ['--input-type=module', '-e', body], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stderr }
}

describe('render host: a message after the service went away', () => {
  it('crashes a child that sends raw on the closed channel (the failure this guards against)', async () => {
    const raw = await sendAfterDisconnect('raw')
    expect(raw.stderr).toContain('ERR_IPC_CHANNEL_CLOSED')
    expect(raw.code).not.toBe(0)
  })

  it('is dropped by sendToService: the host ends normally', async () => {
    const guarded = await sendAfterDisconnect('sendToService')
    expect(guarded.stderr).toBe('')
    expect(guarded.code).toBe(0)
  })
})
