import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ROOT, tempDir } from '../harness/app/test-app.js'
import { runCli } from '../harness/cli/run-cli.js'

let dir: string
let cleanup: () => Promise<void>
let env: Record<string, string>

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('tts-cli-parser-'))
  env = { TTS_CACHE_DIR: join(dir, 'cache'), TTS_LOG_LEVEL: 'error' }
})
afterEach(async () => cleanup())

describe('tts-cache command line (commander)', () => {
  it('prints the help of the command asked about, with its examples and the exit codes', async () => {
    for (const args of [['purge', '--help'], ['help', 'purge']]) {
      const r = await runCli(args, env)
      expect(r.code, args.join(' ')).toBe(0)
      expect(r.stdout).toContain('Usage: tts-cache purge')
      expect(r.stdout).toContain('--include-pinned')
      expect(r.stdout).toContain('Examples:\n  tts-cache purge --voice en-us --dry-run')
      expect(r.stdout).toContain('Exit codes:')
      // Not the global text: no other command's line.
      expect(r.stdout).not.toMatch(/^\s+serve\b/m)
    }
    const worker = await runCli(['worker', '--help'], env)
    expect(worker.code).toBe(0)
    expect(worker.stdout).toContain('--concurrency <n>')
  })

  it('stops quietly when the reader of its output goes away (tts-cache --help | head -1)', async () => {
    // The pipe's read end is closed before the child writes a byte: its first write gets EPIPE.
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), '--help'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout.destroy()
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    expect(stderr).not.toContain('EPIPE')
    expect(code, stderr).toBe(0)
  })

  it('takes the global options before the command as well as after it', async () => {
    const other = join(dir, 'other')
    const before = await runCli(['--cache-dir', other, 'stats', '--json'], env)
    expect(before.code, before.stderr).toBe(0)
    expect(JSON.parse(before.stdout)).toMatchObject({ cacheDir: other, entries: 0 })
    const after = await runCli(['stats', '--json', '--cache-dir', other], env)
    expect(JSON.parse(after.stdout)).toMatchObject({ cacheDir: other })
  })

  it('suggests the closest option and command (exit 2)', async () => {
    const option = await runCli(['stats', '--jsn'], env)
    expect(option.code).toBe(2)
    expect(option.stderr).toContain("unknown option '--jsn'")
    expect(option.stderr).toContain('Did you mean --json?')
    const command = await runCli(['stat'], env)
    expect(command.code).toBe(2)
    expect(command.stderr).toContain('Did you mean stats?')
  })

  it('says to put text starting with "-" after --, and takes it there', async () => {
    const refused = await runCli(['get', '-hello'], env)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('Text that starts with "-" goes after --: tts-cache get -- "-hello"')
    const taken = await runCli(['get', '--json', '--', '-hello'], env)
    expect(taken.code, taken.stderr).toBe(0)
    expect(JSON.parse(taken.stdout)).toMatchObject({ status: 'rendered' })
  })

  it('answers no command with the help and exit 2, --version with exit 0', async () => {
    const none = await runCli([], env)
    expect(none.code).toBe(2)
    expect(none.stdout).toContain('Usage: tts-cache <command> [options]')
    const version = await runCli(['--version'], env)
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })
})
