/**
 * The real-FreeSWITCH suite finds FreeSWITCH wherever a contributor has it (issue 20 item 8):
 * FREESWITCH_TEST_DIR, ../shared/freeswitch, or a `freeswitch` binary on PATH with its modules.
 * The order and the reasons are checked on probes; the installed-binary path is then proved for
 * real: the shared 1.10.12 build unpacked into a prefix (as an install would leave it), found on
 * PATH alone, started by launch.ts with the suite's own configuration, placing a call.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { FREESWITCH, FreeSwitchControl, placeCall, startInstalled, type RunningFreeSwitch } from '../harness/freeswitch/freeswitch.js'
import { describeSource, locateFreeSwitch } from '../harness/freeswitch/locate.js'
import { strictTestRun } from '../harness/store/tmpfs.js'

const run = promisify(execFile)

/** A probe over an imaginary file tree: `files` exist, `executables` are executable. */
function probe(env: Record<string, string>, files: readonly string[], executables: readonly string[] = []) {
  return { env, root: '/src/tts', isFile: (p: string) => files.includes(p), isExecutable: (p: string) => executables.includes(p) }
}

describe('locating a FreeSWITCH for the e2e suite', () => {
  it('prefers FREESWITCH_TEST_DIR with an fs.sh, then the shared build, then PATH', () => {
    const shared = '/src/shared/freeswitch/fs.sh'
    const onPath = ['/usr/bin/freeswitch']
    const mod = ['/usr/lib/freeswitch/mod/mod_event_socket.so']
    expect(locateFreeSwitch(probe({ FREESWITCH_TEST_DIR: '/opt/fs' }, ['/opt/fs/fs.sh', shared]))).toMatchObject({ kind: 'fs.sh', script: '/opt/fs/fs.sh' })
    expect(locateFreeSwitch(probe({ PATH: '/usr/bin' }, [shared, ...mod], onPath))).toMatchObject({ kind: 'fs.sh', script: shared })
    expect(locateFreeSwitch(probe({ PATH: '/bin:/usr/bin' }, mod, onPath))).toEqual({
      kind: 'installed',
      binary: '/usr/bin/freeswitch',
      modDir: '/usr/lib/freeswitch/mod',
      why: 'the freeswitch binary on PATH (/usr/bin/freeswitch)',
    })
  })

  it('takes an install prefix in FREESWITCH_TEST_DIR and its own module directory first', () => {
    const found = locateFreeSwitch(
      probe({ FREESWITCH_TEST_DIR: '/usr/local/freeswitch' }, ['/usr/local/freeswitch/mod/mod_event_socket.so', '/usr/lib/freeswitch/mod/mod_event_socket.so'], ['/usr/local/freeswitch/bin/freeswitch']),
    )
    expect(found).toMatchObject({ kind: 'installed', binary: '/usr/local/freeswitch/bin/freeswitch', modDir: '/usr/local/freeswitch/mod' })
    const override = locateFreeSwitch(probe({ PATH: '/usr/bin', FREESWITCH_MOD_DIR: '/x/mod' }, ['/x/mod/mod_event_socket.so', '/usr/lib/freeswitch/mod/mod_event_socket.so'], ['/usr/bin/freeswitch']))
    expect(override).toMatchObject({ kind: 'installed', modDir: '/x/mod' })
  })

  it('never falls through to another FreeSWITCH when FREESWITCH_TEST_DIR is set but unusable', () => {
    const found = locateFreeSwitch(probe({ FREESWITCH_TEST_DIR: '/nowhere', PATH: '/usr/bin' }, ['/src/shared/freeswitch/fs.sh'], ['/usr/bin/freeswitch']))
    expect(found.kind).toBe('none')
    expect(describeSource(found)).toContain('FREESWITCH_TEST_DIR=/nowhere has neither fs.sh nor an executable bin/freeswitch')
  })

  it('says why for every source when none is found', () => {
    const found = locateFreeSwitch(probe({ PATH: '/usr/bin' }, [], ['/usr/bin/freeswitch']))
    const said = describeSource(found)
    expect(found.kind).toBe('none')
    expect(said).toContain('FREESWITCH_TEST_DIR is not set')
    expect(said).toContain('no /src/shared/freeswitch/fs.sh')
    expect(said).toContain('/usr/bin/freeswitch: no module directory with mod_event_socket.so')
    expect(said).toContain('set FREESWITCH_MOD_DIR')
    expect(said).toContain('container images: not supported yet')
  })
})

describe('an installed FreeSWITCH binary, found on PATH', () => {
  let prefix: string | undefined
  let fs: RunningFreeSwitch | undefined
  afterAll(async () => {
    await fs?.stop()
    if (prefix !== undefined) await rm(prefix, { recursive: true, force: true })
  })

  it('starts with the suite configuration and places a call', async (ctx) => {
    let pathDir: string
    if (FREESWITCH.kind === 'installed') {
      pathDir = dirname(FREESWITCH.binary)
    } else if (FREESWITCH.kind === 'fs.sh') {
      // The shared build's tarball unpacked into a prefix: bin/, lib/, mod/ as an install leaves them.
      prefix = await mkdtemp(join(tmpdir(), 'tts-fs-prefix-'))
      await run('tar', ['-xJf', join(dirname(FREESWITCH.script), 'freeswitch-1.10.12-debian12-amd64.tar.xz'), '-C', prefix, '--strip-components=1', '--no-same-owner'], { timeout: 60_000 })
      pathDir = join(prefix, 'bin')
    } else {
      if (strictTestRun) throw new Error(`test/freeswitch discovery: ${describeSource(FREESWITCH)} (CI / TTS_TEST_STRICT=1: may not be skipped)`)
      process.stderr.write(`\n*** test/freeswitch discovery: SKIPPING, ${describeSource(FREESWITCH)} ***\n\n`)
      return ctx.skip()
    }
    const found = locateFreeSwitch({ env: { PATH: `/nonexistent:${pathDir}` }, root: '/nonexistent/checkout' })
    expect(found.kind, describeSource(found)).toBe('installed')
    if (found.kind !== 'installed') return
    fs = await startInstalled(found, {})
    const control = await FreeSwitchControl.connect(fs.eslPort, fs.password)
    try {
      expect(await control.api('version')).toContain('FreeSWITCH Version 1.10')
      const call = await placeCall(control, 'smoke')
      expect(call.played.some((file) => file.startsWith('tone_stream://'))).toBe(true)
      expect(call.variable('hangup_cause') ?? call.events.at(-1)?.headers.get('Hangup-Cause')).toBe('NORMAL_CLEARING')
    } finally {
      control.close()
    }
  })
})
