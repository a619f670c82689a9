/**
 * Durability of a published render, seen in the system calls a real commit makes: a child
 * process (test/harness/store/child.ts, `commit`) claims a key, renders into its temp file,
 * commits and releases, under `strace -f -y`. What must be on disk before a caller can see it:
 *
 * - the WAV's data is fsynced before the rename that publishes it (a crash never leaves a
 *   published name over a file with missing blocks);
 * - the sidecar is fsynced before its rename, and renamed into place before the WAV is
 *   (whoever sees the WAV finds its sidecar);
 * - the directory is fsynced after the WAV's rename and before the commit resolves (the
 *   renames survive a power cut by the time anyone is told the file is there).
 *
 * strace missing: a strict run (CI, TTS_TEST_STRICT=1) fails, elsewhere skipped, saying so.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { findTool, requireTool } from '../../harness/deploy/live-metrics.js'
import { spawnStoreChild } from '../../harness/store/child-process.js'
import { keyOf, makeTempDir, removeDir } from '../../harness/store/fixtures.js'

const SUITE = 'store durability (strace)'
const STRACE = findTool('strace')
const MISSING = 'strace is not installed (Debian: the strace package)'
const TRACED = 'fsync,fdatasync,rename,renameat,renameat2,access,faccessat,faccessat2'
const SLOW_SYNC_US = 100_000

/** One system call from the trace: the lines it started and ended on (equal unless it blocked). */
interface Call {
  readonly name: string
  readonly args: string
  readonly result: string
  readonly start: number
  readonly end: number
}

/**
 * The completed calls of an `strace -f -o` trace. A call another thread interrupted is split over
 * two lines, `name(args <unfinished ...>` and `<... name resumed>rest) = result`, joined here by pid.
 */
function parseTrace(text: string): Call[] {
  const calls: Call[] = []
  const pending = new Map<string, { name: string; args: string; start: number }>()
  text.split('\n').forEach((line, i) => {
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)\)\s+= (.+)$/.exec(line)
    if (resumed !== null) {
      const [, pid = '', name = '', rest = '', result = ''] = resumed
      const started = pending.get(pid)
      pending.delete(pid)
      if (started?.name === name) calls.push({ name, args: started.args + rest, result, start: started.start, end: i })
      return
    }
    const unfinished = /^(\d+)\s+(\w+)\((.*) <unfinished \.\.\.>$/.exec(line)
    if (unfinished !== null) {
      const [, pid = '', name = '', args = ''] = unfinished
      pending.set(pid, { name, args, start: i })
      return
    }
    const whole = /^(\d+)\s+(\w+)\((.*)\)\s+= (.+)$/.exec(line)
    if (whole !== null) {
      const [, , name = '', args = '', result = ''] = whole
      calls.push({ name, args, result, start: i, end: i })
    }
  })
  return calls
}

const isSync = (c: Call): boolean => c.name === 'fsync' || c.name === 'fdatasync'
const isRename = (c: Call): boolean => c.name === 'rename' || c.name === 'renameat' || c.name === 'renameat2'
const ok = (c: Call): boolean => c.result.startsWith('0')

/** A successful fsync/fdatasync of an fd strace names as `file` (-y prints `fd</path>`). */
function syncOf(calls: Call[], file: string, after = -1): Call | undefined {
  return calls.find((c) => isSync(c) && ok(c) && c.args.includes(`<${file}>`) && c.start > after)
}

/** A successful rename onto `target`, and the path it renamed from. */
function renameOnto(calls: Call[], target: string): { call: Call; from: string } | undefined {
  for (const call of calls) {
    if (!isRename(call) || !ok(call)) continue
    const paths = [...call.args.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '')
    if (paths.at(-1) === target && paths.length >= 2) return { call, from: paths.at(-2) ?? '' }
  }
  return undefined
}

let dir: string | undefined
afterEach(async () => {
  if (dir !== undefined) await removeDir(dir)
  dir = undefined
})

describe('a render is durable before anyone is told it is published (strace of a real commit)', () => {
  it('fsyncs the WAV and its sidecar before their renames, renames the sidecar first, fsyncs the directory before the commit resolves', async (ctx) => {
    requireTool(ctx, SUITE, STRACE, MISSING)
    dir = await makeTempDir('tts-durable-')
    const key = keyOf('durable')
    const tracePath = path.join(dir, 'commit.strace')
    // Every fsync starts 100 ms late (strace delays its entry): one not waited for ends after what
    // should have waited for it, where on a fast disk it could still have won the race.
    const strace = [STRACE, '-f', '-qq', '-y', '-e', `trace=${TRACED}`, '-e', `inject=fsync,fdatasync:delay_enter=${SLOW_SYNC_US}`, '-o', tracePath]
    const child = spawnStoreChild('commit', dir, key, strace)
    const said = await child.nextLine()
    expect(await child.exited).toBe(0)
    const tempWav = /^published (.+)$/.exec(said)?.[1]
    expect(tempWav, said).toMatch(/\.tmp\.wav$/)
    const keyDir = path.dirname(tempWav ?? '')
    const calls = parseTrace(await readFile(tracePath, 'utf8'))

    const wav = renameOnto(calls, path.join(keyDir, `${key}.wav`))
    expect(wav?.from, 'the WAV is published by renaming its temp file').toBe(tempWav)
    const wavSynced = syncOf(calls, tempWav ?? '')
    expect(wavSynced, 'the WAV temp file is fsynced').toBeDefined()
    expect(wavSynced?.end ?? Infinity, 'the WAV fsync ends before its rename').toBeLessThan(wav?.call.start ?? -1)

    const sidecar = renameOnto(calls, path.join(keyDir, `${key}.json`))
    expect(sidecar?.from, 'the sidecar is renamed into place from its own temp file').toMatch(/\.tmp\.json$/)
    const sidecarSynced = syncOf(calls, sidecar?.from ?? '')
    expect(sidecarSynced, 'the sidecar temp file is fsynced').toBeDefined()
    expect(sidecarSynced?.end ?? Infinity, 'the sidecar fsync ends before its rename').toBeLessThan(sidecar?.call.start ?? -1)
    expect(sidecar?.call.end ?? Infinity, 'the sidecar is in place before the WAV').toBeLessThan(wav?.call.start ?? -1)

    const dirSynced = syncOf(calls, keyDir, wav?.call.end ?? Infinity)
    expect(dirSynced, 'the directory is fsynced after the WAV rename').toBeDefined()
    const resolved = calls.find((c) => c.args.includes(path.join(dir ?? '', 'commit-resolved')))
    expect(resolved, 'the child marked the moment its commit resolved').toBeDefined()
    expect(dirSynced?.end ?? Infinity, 'the directory fsync ends before the commit resolves').toBeLessThan(resolved?.start ?? -1)
  })
})
