import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runEngineProcess } from '../../../src/engines/process/run-engine-process.js'
import { isProcessAlive, makeTempDir, removeTempDirs, ttsErrorOf } from '../../fixtures/engines/helpers.js'

afterEach(removeTempDirs)

const quick = { timeoutMs: 10_000, killGraceMs: 500 }

/** A tiny executable script in a temp dir. */
async function script(body: string): Promise<string> {
  const path = join(await makeTempDir(), 'engine.sh')
  await writeFile(path, `#!/bin/sh\n${body}\n`)
  await chmod(path, 0o755)
  return path
}

describe('runEngineProcess: what a probe or an engine run gives back', () => {
  it('captures stdout and the stderr tail of a run that exits 0', async () => {
    const bin = await script('printf "espeak-ng text-to-speech: 1.51\\n"; echo "a warning" >&2')
    const result = await runEngineProcess(bin, [], { ...quick, label: 'probe', captureStdout: true })
    expect(result.stdout).toBe('espeak-ng text-to-speech: 1.51\n')
    expect(result.stderrTail).toBe('a warning\n')
  })

  it('passes the input on stdin and argv as given: no shell ever sees them', async () => {
    const bin = await script('printf "%s|" "$@"; cat')
    const text = '$(touch /tmp/pwned) `id` ; rm -rf "x" \n -x'
    const result = await runEngineProcess(bin, ['-a', '$HOME', 'b c'], { ...quick, label: 'echo', captureStdout: true, input: text })
    expect(result.stdout).toBe(`-a|$HOME|b c|${text}`)
  })

  it('accepts a listed non-zero exit code (flite --version exits 1) and keeps its stdout', async () => {
    const bin = await script('echo "flite-2.2"; exit 1')
    const result = await runEngineProcess(bin, ['--version'], { ...quick, label: 'flite', captureStdout: true, successExitCodes: [0, 1] })
    expect(result.stdout).toBe('flite-2.2\n')
    const err = await ttsErrorOf(runEngineProcess(bin, ['--version'], { ...quick, label: 'flite', captureStdout: true }))
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.details).toMatchObject({ exitCode: 1, signal: null })
  })

  it('a process killed by a signal → TTS_ERR_RENDER_FAILED naming the signal', async () => {
    const bin = await script('kill -SEGV $$')
    const err = await ttsErrorOf(runEngineProcess(bin, [], { ...quick, label: 'crashy' }))
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine crashy failed: killed by SIGSEGV')
    expect(err.details).toMatchObject({ exitCode: null, signal: 'SIGSEGV' })
  })

  it('a missing binary → TTS_ERR_ENGINE_UNAVAILABLE (ENOENT); a non-executable one → EACCES', async () => {
    const dir = await makeTempDir()
    const missing = await ttsErrorOf(runEngineProcess(join(dir, 'nope'), [], { ...quick, label: 'nope', input: 'text' }))
    expect(missing.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
    expect(missing.details).toMatchObject({ errno: 'ENOENT' })
    const plain = join(dir, 'plain')
    await writeFile(plain, 'not a program')
    const denied = await ttsErrorOf(runEngineProcess(plain, [], { ...quick, label: 'plain', captureStdout: true }))
    expect(denied.code).toBe('TTS_ERR_ENGINE_UNAVAILABLE')
    expect(denied.details).toMatchObject({ errno: 'EACCES' })
  })

  it('stdout past the probe limit → "too much output", and the writer is killed, not waited for', async () => {
    const pidFile = join(await makeTempDir(), 'pid')
    // Writes forever: only the limit can end it before the (long) timeout.
    const bin = await script(`echo $$ > ${pidFile}; exec yes "0123456789abcdef"`)
    const err = await ttsErrorOf(runEngineProcess(bin, [], { timeoutMs: 60_000, killGraceMs: 500, label: 'chatty', captureStdout: true }))
    expect(err.code).toBe('TTS_ERR_RENDER_FAILED')
    expect(err.message).toBe('engine chatty failed: too much output')
    expect(err.details).toMatchObject({ timedOut: false })
    // Without the kill at the limit it would only end at the 60 s timeout, past this test's own.
    expect(await isProcessAlive(Number(await readFile(pidFile, 'utf8')))).toBe(false)
  })
})
