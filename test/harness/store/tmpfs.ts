/**
 * A small real tmpfs for disk-full tests (`mount -t tmpfs -o size=…`; root or CAP_SYS_ADMIN), and
 * a filler that leaves a given number of bytes free on it. Where mounting is refused the caller
 * gets the reason: strict runs (CI, TTS_TEST_STRICT=1, as scripts/bootstrap.sh reads them) fail
 * with it, others skip saying it.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rmdir, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface MountedTmpfs {
  readonly dir: string
  /** `umount -l` (lazy: a process still holding a file there does not keep it mounted) and rmdir. */
  unmount(): Promise<void>
}

/** The same rule as scripts/bootstrap.sh: a skip fails the run. */
const ci = process.env['CI'] ?? ''
export const strictTestRun = (ci !== '' && ci !== 'false') || process.env['TTS_TEST_STRICT'] === '1'

/** Mounts a tmpfs of `size` (e.g. `2m`) at a fresh directory; the reason when it cannot. */
export async function mountTmpfs(size: string): Promise<MountedTmpfs | { reason: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tts-full-'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' })
  if (mounted.status !== 0) {
    await rmdir(dir)
    return { reason: `mount -t tmpfs failed (${mounted.error?.message ?? mounted.stderr.trim()}): needs root (or CAP_SYS_ADMIN)` }
  }
  return {
    dir,
    unmount: async () => {
      const out = spawnSync('umount', ['-l', dir], { encoding: 'utf8' })
      if (out.status !== 0) throw new Error(`umount -l ${dir} failed: ${out.error?.message ?? out.stderr.trim()}`)
      await rmdir(dir)
    },
  }
}

/** Fills the file system holding `dir` until about `leaveBytes` are left; returns the filler file. */
export async function fillTo(dir: string, leaveBytes: number): Promise<string> {
  const s = await statfs(dir)
  const filler = join(dir, 'filler.bin')
  await writeFile(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - leaveBytes)))
  return filler
}
