/**
 * docs/http.md's shell examples run as printed (issue 20 item 7): the opening block (a GET that
 * saves a WAV, a POST, a text/plain pre-warm of examples/prompts.txt) and the purge examples
 * (a dry run, then the purge). Like the README's quick look they use the documented fixed port
 * 8080, so they run in a network and mount namespace of their own (`unshare --net --mount`,
 * root) against a `tts-cache serve` started there with a token in TTS_API_TOKEN, the variable
 * the examples read; the working directory is a scratch one holding `examples/` (the examples
 * write welcome.wav where they run).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'
import { strictTestRun } from '../harness/store/tmpfs.js'

/** The ```sh blocks of a markdown file, in order. */
async function shellBlocks(file: string): Promise<string[]> {
  const text = await readFile(join(ROOT, file), 'utf8')
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

const canUnshare = spawnSync('unshare', ['--net', '--mount', 'true']).status === 0

describe('docs/http.md examples', () => {
  let work: string | undefined
  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true })
  })

  it('run as printed against a real serve', async (ctx) => {
    if (!canUnshare) {
      const why = 'needs `unshare --net --mount` (root) to run the fixed port 8080 apart from this machine'
      if (strictTestRun) throw new Error(`docs/http.md examples: ${why} (CI / TTS_TEST_STRICT=1: may not be skipped)`)
      process.stderr.write(`\n*** docs/http.md examples: SKIPPING, ${why} ***\n\n`)
      return ctx.skip()
    }
    const blocks = await shellBlocks('docs/http.md')
    const opening = blocks[0]!
    const purge = blocks.find((b) => b.includes('DELETE') && b.includes('dry_run=true'))
    expect(opening).toContain('/v1/prewarm')
    expect(purge).toBeDefined()
    work = await mkdtemp(join(tmpdir(), 'tts-http-docs-'))
    await symlink(join(ROOT, 'examples'), join(work, 'examples'))
    const serveLog = join(work, 'serve.log')
    const script = [
      'set -euo pipefail',
      'ip link set lo up',
      'mount -t tmpfs tmpfs /var/lib',
      `node ${JSON.stringify(join(ROOT, 'dist/cli/main.js'))} serve > ${JSON.stringify(serveLog)} 2>&1 &`,
      'curl -sf --retry 30 --retry-connrefused --retry-delay 1 -o /dev/null http://127.0.0.1:8080/readyz',
      opening,
      'echo',
      purge!,
      'echo',
      'kill %1',
      'wait',
    ].join('\n')
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: work, LANG: 'C.UTF-8', TTS_API_TOKEN: 'docs-example-token-0123456789abcdef' }
    const ran = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', 'bash', '-c', script], { cwd: work, env, encoding: 'utf8', timeout: 120_000 })
    const said = `exit ${ran.status} ${ran.signal ?? ''}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}\n--- serve\n${await readFile(serveLog, 'utf8').catch(() => '')}`
    expect(ran.status, said).toBe(0)
    // Every JSON answer the examples printed (curl prints them back to back).
    const answers = [...ran.stdout.matchAll(/\{[^{}]*(?:\[[^\]]*\][^{}]*)*\}/g)].map((m) => JSON.parse(m[0]) as Record<string, unknown>)
    // GET saved a WAV where it ran; POST answered where it is; the pre-warm was accepted.
    expect((await readFile(join(work, 'welcome.wav'))).subarray(0, 4).toString('latin1'), said).toBe('RIFF')
    expect(answers.find((a) => 'key' in a)?.['path'], said).toMatch(/^\/var\/lib\/tts-cache\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}\.wav$/)
    expect(answers.find((a) => 'queued' in a), said).toMatchObject({ total: 5, rejected: [] })
    // The purge examples: the dry run removes nothing, the purge then removes what it counted.
    const dry = answers.find((a) => a['dryRun'] === true)
    const wet = answers.find((a) => a['dryRun'] === false)
    expect(dry, said).toMatchObject({ removed: 0 })
    expect(wet?.['removed'], said).toBe(dry?.['wouldRemove'])
    // A stop that caught renders in flight ends without a crash of the render host.
    expect(ran.stderr, said).not.toContain('ERR_IPC_CHANNEL_CLOSED')
  }, 150_000)
})
