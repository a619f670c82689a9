import { readFile, readdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Signals every process of the group led by `pgid` (an engine spawned detached leads its own
 * group, so its grandchildren are in it too). Returns false when the group is already gone or
 * may not be signalled; throws only on a programming error (an invalid signal), since it runs
 * from timers where a throw would crash the service.
 */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal)
    return true
  } catch (err) {
    // ESRCH: nobody left in the group. EPERM: a member we may not signal (a setuid helper);
    // nothing more we can do about it here, and the caller's bounded wait reports it.
    if (isErrnoException(err) && (err.code === 'ESRCH' || err.code === 'EPERM')) return false
    throw err
  }
}

/**
 * Waits until no living process of the group is left, polling at most `maxMs`. Returns false if
 * one outlived the bound. Killed members whose parent already died stay zombies until init
 * reaps them (which can take a while, or never when the service itself is PID 1 without an
 * init: run containers with `--init`); zombies are dead, so they do not count.
 */
export async function waitForProcessGroupExit(pgid: number, maxMs: number, pollMs: number): Promise<boolean> {
  const deadline = performance.now() + maxMs
  while (await groupHasLivingMembers(pgid)) {
    if (performance.now() >= deadline) return false
    await sleep(pollMs)
  }
  return true
}

async function groupHasLivingMembers(pgid: number): Promise<boolean> {
  // Fast path: the group is gone altogether (the usual case after a clean exit).
  if (!signalProcessGroup(pgid, 0)) return false
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    // No procfs: the signal probe above is all we can know, and it says the group exists.
    return true
  }
  const states = await Promise.all(entries.filter((name) => /^\d+$/.test(name)).map((pid) => processGroupAndState(pid)))
  return states.some((s) => s !== undefined && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X')
}

/** Reads pgrp and state from /proc/<pid>/stat (`pid (comm) state ppid pgrp …`). */
async function processGroupAndState(pid: string): Promise<{ pgrp: number; state: string } | undefined> {
  let stat: string
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch {
    // The process exited while we looked: it is not a living member.
    return undefined
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) }
}

function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string'
}
