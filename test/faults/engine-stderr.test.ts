/**
 * Fault: an engine whose child inherits its stdout/stderr and lives on after the engine exited
 * (a helper daemon, a stray grandchild). The engine produced its audio and exited 0; only the
 * pipes stay open. Issue 17 saw a 504 after the render timeout and the phrase never cached,
 * because the runner waited for the pipes to close. A finished render must be cached, and the
 * stray process group killed.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isCanonicalWav, parseWavHeader } from '../../src/audio/wav.js'
import { createCommandEngine } from '../../src/engines/adapters/command.js'
import { createEspeakNgEngine } from '../../src/engines/adapters/espeak-ng.js'
import { renderToFile } from '../../src/engines/pipeline/render-audio.js'
import { fixture, isProcessAlive, makeTempDir, readPidFile, removeTempDirs, renderJob, silentLogger } from '../fixtures/engines/helpers.js'
import { startTestApp, type TestApp } from '../harness/app/test-app.js'

const apps: TestApp[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
  await removeTempDirs()
})

/** The render timeout these tests run under: the service's default (the 504 of the issue). */
const RENDER_TIMEOUT_MS = 10_000

/** Living (not zombie) processes whose process group is `pgid`, read from /proc. */
async function livingMembersOf(pgid: number): Promise<number[]> {
  const members: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    let statLine: string
    try {
      statLine = await readFile(`/proc/${name}/stat`, 'utf8')
    } catch {
      continue // exited while we looked
    }
    const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') members.push(Number(name))
  }
  return members
}

async function expectCanonicalWav(path: string, sampleRate: number): Promise<void> {
  const bytes = await readFile(path)
  const check = parseWavHeader(bytes, bytes.length)
  expect(check.ok && isCanonicalWav(check.info, sampleRate)).toBe(true)
}

describe('fault: an engine child keeps stderr open after the engine exited', () => {
  it('through a scratch file (command engine): the render succeeds and the stray group is killed', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const engine = createCommandEngine({ template: [fixture('speak-leave-stderr-holder'), `--pidfile=${pidFile}`, '--stdin', '-b', '1', '-w', '{out}'] })
    const outPath = join(dir, 'out.wav')
    const audio = await renderToFile(renderJob(outPath, 'The engine is done; its child is not.', { engine: 'command' }), {
      engine,
      timeoutMs: RENDER_TIMEOUT_MS,
      logger: silentLogger,
    })
    expect(audio.bytes).toBe((await stat(outPath)).size)
    await expectCanonicalWav(outPath, 8000)
    const { leader, grandchild } = await readPidFile(pidFile)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await livingMembersOf(leader)).toEqual([])
  })

  it('piped into sox (the child holds stdout too): sox still gets its end of input and the render succeeds', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const engine = createEspeakNgEngine({ path: fixture('speak-leave-stderr-holder'), env: { TTS_FIXTURE_PIDFILE: pidFile } })
    const outPath = join(dir, 'out.wav')
    await renderToFile(renderJob(outPath, 'Piped, with a child holding the pipe.'), { engine, timeoutMs: RENDER_TIMEOUT_MS, logger: silentLogger })
    await expectCanonicalWav(outPath, 8000)
    const { leader, grandchild } = await readPidFile(pidFile)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await livingMembersOf(leader)).toEqual([])
  })

  it('a child that left the group (setsid) and holds the pipes: they are closed from our side and the render succeeds', async () => {
    const dir = await makeTempDir()
    const pidFile = join(dir, 'pids')
    const engine = createCommandEngine({
      template: [fixture('speak-leave-stderr-holder'), `--pidfile=${pidFile}`, '--stdin', '-b', '1', '-w', '{out}'],
      env: { TTS_FIXTURE_SETSID: '1' },
    })
    const outPath = join(dir, 'out.wav')
    const warnings: string[] = []
    const logger = { ...silentLogger, warn: (_obj: object, msg?: string) => void warnings.push(msg ?? ''), child: () => logger }
    try {
      await renderToFile(renderJob(outPath, 'Outside the group.', { engine: 'command' }), { engine, timeoutMs: RENDER_TIMEOUT_MS, logger })
      await expectCanonicalWav(outPath, 8000)
      expect(warnings).toContain('engine exited but a process outside its group holds its pipes: closing them')
    } finally {
      // Not ours to reach through the group: the test kills what its fixture left.
      const { grandchild } = await readPidFile(pidFile)
      process.kill(grandchild, 'SIGKILL')
    }
  })

  it('serve (renders in the render host): the phrase is rendered and cached, and the next request is a hit', async () => {
    const { dir: pidDir } = { dir: await makeTempDir() }
    const pidFile = join(pidDir, 'pids')
    const app = await startTestApp(
      {
        TTS_ENGINE: 'command',
        TTS_COMMAND: JSON.stringify([fixture('speak-leave-stderr-holder'), `--pidfile=${pidFile}`, '--stdin', '-b', '1', '-w', '{out}']),
        TTS_RENDER_TIMEOUT_MS: String(RENDER_TIMEOUT_MS),
      },
      { renderHost: true },
    )
    apps.push(app)
    const text = 'Cached although a child of the engine held its stderr.'
    const first = await app.app.service.get({ text }, { source: 'http' })
    expect(first.status).toBe('rendered')
    await expectCanonicalWav(first.path, 8000)
    const { leader, grandchild } = await readPidFile(pidFile)
    expect(await isProcessAlive(grandchild)).toBe(false)
    expect(await livingMembersOf(leader)).toEqual([])
    const second = await app.app.service.get({ text }, { source: 'http' })
    expect([second.status, second.path]).toEqual(['hit', first.path])
    expect(app.renders()).toBe(1)
  })
})
