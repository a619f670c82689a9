// @ts-check
/**
 * CPU seconds from /proc (Linux), to say who used the cores during a run: a process, the
 * children it has reaped (a service's engine processes), and the whole machine.
 */
import { readFileSync } from 'node:fs'

/** USER_HZ: the unit of /proc's CPU times (100 on every Linux architecture Node runs on). */
const TICKS_PER_S = 100

/**
 * @typedef {object} CpuSnapshot
 * @property {number} selfS user + system seconds of the process itself
 * @property {number} childrenS user + system seconds of its children that exited and were waited for
 */

/**
 * @param {number} pid
 * @returns {CpuSnapshot}
 */
export function processCpu(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
  // Fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
  const [utime = 0, stime = 0, cutime = 0, cstime = 0] = fields.slice(11, 15)
  return { selfS: (utime + stime) / TICKS_PER_S, childrenS: (cutime + cstime) / TICKS_PER_S }
}

/**
 * CPU seconds of `pid`'s live direct children (from /proc/<pid>/task/<pid>/children), each with
 * what its own finished children used: the service's render host and the engines it ran. 0 where
 * the kernel does not list children.
 * @param {number} pid
 */
export function liveChildrenCpuS(pid) {
  let listed = ''
  try {
    listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1')
  } catch {
    return 0
  }
  let total = 0
  for (const child of listed.trim().split(/\s+/).filter(Boolean).map(Number)) {
    try {
      const cpu = processCpu(child)
      total += cpu.selfS + cpu.childrenS
    } catch {
      // Exited between the listing and the read: its time is in the parent's children time now.
    }
  }
  return total
}

/** Busy and total CPU seconds of the machine, all cores summed (/proc/stat). */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? ''
  const ticks = line.trim().split(/\s+/).slice(1).map(Number)
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0)
  return { busyS: (total - idle) / TICKS_PER_S, totalS: total / TICKS_PER_S }
}
