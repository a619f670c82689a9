import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../src/audio/wav.js'
import { FIXTURES, listFiles, tempDir } from '../harness/app/test-app.js'
import { runCli } from '../harness/cli/run-cli.js'
import { startServeChild, type ServeChild } from '../harness/cli/serve-child.js'

let dir: string
let cleanup: () => Promise<void>
let env: Record<string, string>

beforeEach(async () => {
  ;({ dir, cleanup } = await tempDir('tts-cli-'))
  env = { TTS_CACHE_DIR: join(dir, 'cache') }
})
afterEach(async () => cleanup())

describe('tts-cache get', () => {
  it('prints rendered, then hit with the same path from a second process; the file is 8 kHz mono PCM16', async () => {
    const first = await runCli(['get', 'Hello World', '--json'], env)
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    const a = JSON.parse(first.stdout) as { key: string; path: string; status: string; bytes: number; durationMs: number }
    expect(a.status).toBe('rendered')
    const second = await runCli(['get', 'Hello World', '--json'], env)
    const b = JSON.parse(second.stdout) as typeof a
    expect(b).toEqual({ ...a, status: 'hit' })
    expect(a.path.startsWith(join(dir, 'cache'))).toBe(true)
    const bytes = await readFile(a.path)
    const wav = parseWavHeader(bytes, bytes.byteLength)
    expect(wav.ok && isCanonicalWav(wav.info, 8000)).toBe(true)
    expect(bytes.byteLength).toBe(a.bytes)
    const plain = await runCli(['get', 'Hello World'], env)
    expect(plain.stdout).toBe(`${a.path}\n`)
  })

  it('renders once when 20 separate processes ask for one new sentence at the same time', async () => {
    const counter = join(dir, 'engine-runs')
    const cmdEnv = { ...env, TTS_ENGINE: 'command', TTS_COMMAND: JSON.stringify([join(FIXTURES, 'count-invocations'), '{out}']), TTS_FIXTURE_COUNTER: counter }
    const results = await Promise.all(Array.from({ length: 20 }, () => runCli(['get', 'Twenty processes, one render', '--json'], cmdEnv)))
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    const parsed = results.map((r) => JSON.parse(r.stdout) as { path: string; status: string })
    expect(new Set(parsed.map((p) => p.path)).size).toBe(1)
    expect((await readFile(counter, 'utf8')).trim().split('\n')).toHaveLength(1)
    expect(parsed.filter((p) => p.status === 'rendered')).toHaveLength(1)
    for (const p of parsed) expect(['rendered', 'coalesced', 'hit']).toContain(p.status)
  }, 240_000) // a safety net only: 20 Node start-ups on a 2-core CI machine

  it.each([
    ['empty', '', 'TTS_ERR_TEXT_EMPTY'],
    ['whitespace only', ' \t ', 'TTS_ERR_TEXT_EMPTY'],
    ['100 KB', 'x'.repeat(100_000), 'TTS_ERR_TEXT_TOO_LONG'],
    ['an escape character', 'a\u001bb', 'TTS_ERR_TEXT_INVALID'],
  ])('rejects %s with a typed error and writes nothing', async (_name, text, code) => {
    const r = await runCli(['get', '--', text], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(code)
    expect((await listFiles(dir)).filter((f) => f.endsWith('.wav'))).toEqual([])
  })

  it.each([
    ['a voice with ../', ['--voice', '../../etc/passwd'], 'TTS_ERR_INVALID_VOICE'],
    ['an unknown voice', ['--voice', 'no-such-voice'], 'TTS_ERR_UNKNOWN_VOICE'],
    ['an unknown engine', ['--engine', 'festival'], 'TTS_ERR_UNKNOWN_ENGINE'],
    ['an unsupported rate', ['--rate', '12345'], 'TTS_ERR_INVALID_RATE'],
  ])('rejects %s', async (_name, flags, code) => {
    const r = await runCli(['get', 'Hello', ...flags], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(code)
  })

  it.each([
    ['-w /etc/passwd'],
    ['$(touch PWNED)'],
    ['`touch PWNED`'],
    ['"; touch PWNED; echo "'],
    ["it's a 'quoted' phrase"],
    ['line one\r\nline two'],
  ])('speaks %j as text, never as a command or option', async (text) => {
    const r = await runCli(['get', '--json', '--', text], { ...env, PWD: dir })
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { path: string }
    expect(out.path.startsWith(join(dir, 'cache'))).toBe(true)
    const files = await listFiles(dir)
    expect(files.some((f) => f.includes('PWNED'))).toBe(false)
    expect(files.every((f) => f.startsWith('cache/'))).toBe(true)
  })

  it('answers a usage error with exit 2', async () => {
    expect((await runCli(['get'], env)).code).toBe(2)
    expect((await runCli(['get', 'x', '--bogus'], env)).code).toBe(2)
    expect((await runCli(['nonsense'], env)).code).toBe(2)
  })

  it('reports every configuration problem at once', async () => {
    const r = await runCli(['get', 'x'], { ...env, TTS_SAMPLE_RATE: '7', TTS_ENGINE: 'nope' })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('TTS_SAMPLE_RATE')
    expect(r.stderr).toContain('TTS_ENGINE')
  })
})

describe('tts-cache prewarm, stats, purge, doctor', () => {
  it('pre-warms a phrase list (plain and JSON lines), reports failures by line and exits 1', async () => {
    const list = join(dir, 'prompts.txt')
    await writeFile(list, ['Welcome to the bank', '', '# a comment', '{"text":"Press one for balances","voice":"en-us","pin":true}', '{"text":""}', 'Welcome to the bank'].join('\n'))
    const r = await runCli(['prewarm', list, '--json'], env)
    expect(r.code).toBe(1)
    const summary = JSON.parse(r.stdout) as { total: number; rendered: number; failed: number; failures: { line: number; code: string }[]; cached: number; coalesced: number }
    expect(summary.total).toBe(4)
    expect(summary.rendered).toBe(2)
    expect(summary.cached + summary.coalesced).toBe(1)
    expect(summary.failures).toEqual([expect.objectContaining({ line: 5, code: 'TTS_ERR_TEXT_EMPTY' })])

    const stats = JSON.parse((await runCli(['stats', '--json'], env)).stdout) as { entries: number; pinnedEntries: number }
    expect(stats).toMatchObject({ entries: 2, pinnedEntries: 1 })

    const again = await runCli(['prewarm', '-', '--json'], env, 'Welcome to the bank\n')
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 1, cached: 1, rendered: 0, failed: 0 })
  })

  it('purges by key and everything', async () => {
    const { key, path } = JSON.parse((await runCli(['get', 'Purge me', '--json'], env)).stdout) as { key: string; path: string }
    await runCli(['get', 'Keep me for now'], env)
    expect(JSON.parse((await runCli(['purge', '--key', key, '--json'], env)).stdout)).toEqual({ dryRun: false, removed: 1, keptPinned: 0 })
    await expect(readFile(path)).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await runCli(['purge', '--key', key], env)).code).toBe(1)
    expect((await runCli(['purge'], env)).code).toBe(2)
    expect(JSON.parse((await runCli(['purge', '--all', '--yes', '--json'], env)).stdout)).toEqual({ dryRun: false, removed: 1, keptPinned: 0 })
  })

  it('purge refuses empty values, keeps pinned entries unless --include-pinned, dry-runs, and wants --yes for --all off a terminal', async () => {
    const wavs = async (): Promise<number> => (await listFiles(dir)).filter((f) => f.endsWith('.wav')).length
    const list = join(dir, 'prompts.txt')
    await writeFile(list, ['{"text":"Pinned greeting","voice":"en-us","pin":true}', '{"text":"Plain greeting","voice":"en-us"}', '{"text":"Other voice","voice":"en"}'].join('\n'))
    expect((await runCli(['prewarm', list], env)).code).toBe(0)
    expect(await wavs()).toBe(3)

    for (const flags of [['--voice', ''], ['--engine', ' '], ['--voice', 'en-us', '--engine', '']]) {
      const empty = await runCli(['purge', ...flags], env)
      expect(empty.code, flags.join(' ')).toBe(2)
      expect(empty.stderr).toContain(`${flags.at(-2) ?? ''} needs a value`)
    }
    expect(await wavs()).toBe(3)

    const dry = await runCli(['purge', '--voice', 'en-us', '--dry-run', '--json'], env)
    expect(dry.code, dry.stderr).toBe(0)
    expect(JSON.parse(dry.stdout)).toEqual({ dryRun: true, removed: 0, wouldRemove: 1, keptPinned: 1 })
    expect((await runCli(['purge', '--voice', 'en-us', '--dry-run'], env)).stdout).toBe('dry run: would remove 1 entry, keep 1 pinned (--include-pinned removes pinned ones too); nothing removed\n')
    expect(await wavs()).toBe(3)

    expect(JSON.parse((await runCli(['purge', '--voice', 'en-us', '--json'], env)).stdout)).toEqual({ dryRun: false, removed: 1, keptPinned: 1 })
    expect(await wavs()).toBe(2)

    const unconfirmed = await runCli(['purge', '--all'], env)
    expect(unconfirmed.code).toBe(2)
    expect(unconfirmed.stderr).toContain('pass --yes')
    expect(await wavs()).toBe(2)

    expect(JSON.parse((await runCli(['purge', '--all', '--yes', '--json'], env)).stdout)).toEqual({ dryRun: false, removed: 1, keptPinned: 1 })
    const { key } = JSON.parse((await runCli(['get', 'Pinned greeting', '--voice', 'en-us', '--json'], env)).stdout) as { key: string; status: string }
    const byKey = await runCli(['purge', '--key', key], env)
    expect(byKey.code).toBe(1)
    expect(byKey.stdout).toContain('is pinned')
    expect(await wavs()).toBe(1)

    expect(JSON.parse((await runCli(['purge', '--all', '--yes', '--include-pinned', '--json'], env)).stdout)).toEqual({ dryRun: false, removed: 1, keptPinned: 0 })
    expect(await wavs()).toBe(0)
  })

  it('doctor passes here and fails, naming the problem, for a missing default engine', async () => {
    const ok = await runCli(['doctor', '--json'], { ...env, TTS_API_TOKEN: 'sekret-token' })
    expect(ok.code, ok.stdout).toBe(0)
    expect(ok.stdout).not.toContain('sekret-token')
    const report = JSON.parse(ok.stdout) as { checks: { name: string; ok: boolean }[] }
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['config', 'engine espeak-ng (default)', 'sox', 'cache dir']))
    const bad = await runCli(['doctor'], { ...env, TTS_ENGINE: 'swift', TTS_SWIFT_BIN: '/nonexistent/swift' })
    expect(bad.code).toBe(1)
    expect(bad.stdout).toMatch(/FAIL\s+engine swift \(default\)/)
  })
})

describe('tts-cache serve', () => {
  /** Starts the built `serve` on ports chosen by the system; resolves once the HTTP API listens. */
  const startServe = (): Promise<ServeChild> => startServeChild({ env })

  it('starts on an empty cache directory, serves, remembers its engine probes and replays them on a restart', async () => {
    const text = 'Thank you for calling.'
    const first = await startServe()
    const rendered = await fetch(`${first.base}/v1/tts?text=${encodeURIComponent(text)}`)
    expect(rendered.status).toBe(200)
    expect(rendered.headers.get('x-tts-cache')).toBe('rendered')
    await rendered.arrayBuffer()
    expect(await first.stop()).toBe(0)
    expect(await readFile(join(dir, 'cache', '.engine-probes.json'), 'utf8')).toContain('--version')

    const restarted = await startServe()
    const hit = await fetch(`${restarted.base}/v1/tts?text=${encodeURIComponent(text)}`)
    expect(hit.headers.get('x-tts-cache')).toBe('hit')
    await hit.arrayBuffer()
    expect(await restarted.stop()).toBe(0)
  })
})
