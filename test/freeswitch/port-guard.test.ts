/**
 * The real-FreeSWITCH suite must never talk to a stranger (issue #17 item 9): before it starts
 * the service it refuses a port anything answers on, and afterwards it accepts a listener only
 * when /proc says it belongs to the process it started. Checked here against a real foreign
 * process (python3's http.server) on a free port.
 */
import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answers, assertListenerIs, assertPortUnused, freePort, listenerPids } from '../harness/freeswitch/freeswitch.js'

describe('the e2e suite port guard', () => {
  let strangerPid: number
  let port: number

  beforeAll(async () => {
    port = await freePort()
    // Started through a shell that exits at once: the stranger is no descendant of this process.
    strangerPid = Number(
      execFileSync('sh', ['-c', `python3 -m http.server ${port} --bind 127.0.0.1 >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' }).trim(),
    )
    for (let i = 0; !(await answers(port)); i++) {
      if (i > 200) throw new Error('python3 http.server did not start')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

  afterAll(() => {
    if (strangerPid > 0) process.kill(strangerPid, 'SIGKILL')
  })

  it('finds the pid that listens on a port through /proc', async () => {
    expect(await listenerPids(port)).toEqual([strangerPid])
  })

  it('refuses a port a foreign process answers on, naming it', async () => {
    await expect(assertPortUnused(port, 'the ESL port chosen for the service')).rejects.toThrow(
      new RegExp(`a foreign process answers on 127\\.0\\.0\\.1:${port} \\(the ESL port chosen for the service\\): pid ${strangerPid} \\(\\S*python3?\\S* -m http\\.server`),
    )
    await expect(assertPortUnused(await freePort(), 'a free port')).resolves.toBeUndefined()
  })

  it('accepts a listener only when it is the started process or its descendant', async () => {
    await expect(assertListenerIs(port, process.pid, "the service's HTTP port")).rejects.toThrow(/is held by pid \d+ \(\S*python3?\S* -m http\.server/)
    await expect(assertListenerIs(port, strangerPid, 'the stranger itself')).resolves.toBe(strangerPid)
    await expect(assertListenerIs(await freePort(), process.pid, 'nothing')).rejects.toThrow(/nothing listens/)
  })
})
