/**
 * Issue 20 on a real FreeSWITCH 1.10.12 (test/harness/freeswitch): `serve` with a PATH lacking
 * espeak-ng plays the cached phrase (7001: `hit`) and gives a new one the macro's fallback at once
 * (7002: `error`, no tts_file); `doctor` logs in to that FreeSWITCH's inbound Event Socket.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'
import { runCli } from '../harness/cli/run-cli.js'
import {
  describeSource,
  FREESWITCH,
  FreeSwitchControl,
  freePort,
  freeswitchAvailable,
  placeCall,
  startFreeSwitch,
  startService,
  type RunningFreeSwitch,
  type RunningService,
} from '../harness/freeswitch/freeswitch.js'

if (!freeswitchAvailable) process.stderr.write(`test/freeswitch/engine-missing: SKIPPED, ${describeSource(FREESWITCH)}\n`)

describe.skipIf(!freeswitchAvailable)('a real FreeSWITCH with serve lacking its default engine', () => {
  let work: string
  let fs: RunningFreeSwitch | undefined
  let control: FreeSwitchControl | undefined
  let service: RunningService | undefined
  const cacheDir = (): string => join(work, 'cache')

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tts-fs-engine-missing-'))
    const esl = await freePort()
    let http = await freePort()
    while (http === esl) http = await freePort()
    const dialplanDir = join(work, 'dialplan')
    await mkdir(dialplanDir)
    await symlink(join(ROOT, 'freeswitch/dialplan/tts_cache_examples.xml'), join(dialplanDir, 'tts_cache_examples.xml'))
    await writeFile(
      join(dialplanDir, '00_tts_cache_vars.xml'),
      `<include>\n  <X-PRE-PROCESS cmd="set" data="tts_cache_esl_address=127.0.0.1:${esl}"/>\n  <X-PRE-PROCESS cmd="set" data="tts_cache_http_url=http://127.0.0.1:${http}"/>\n</include>\n`,
    )
    fs = await startFreeSwitch({ dialplanDir, phrasesDir: join(ROOT, 'freeswitch/lang/en/ivr') })
    control = await FreeSwitchControl.connect(fs.eslPort, fs.password)
    // 7001's phrase cached while espeak-ng was there.
    const cached = await runCli(['get', 'Your balance is forty two pounds', '--json'], { TTS_CACHE_DIR: cacheDir() })
    expect(cached.code, cached.stderr).toBe(0)
    const bin = join(work, 'bin')
    await mkdir(bin)
    for (const tool of ['sox', 'flite']) {
      const found = (process.env['PATH'] ?? '').split(':').map((d) => join(d, tool)).find((p) => existsSync(p))
      if (found !== undefined) await symlink(found, join(bin, tool))
    }
    service = await startService({ esl, http }, { PATH: bin, TTS_CACHE_DIR: cacheDir() })
  }, 120_000)

  afterAll(async () => {
    await service?.stop()
    control?.close()
    await fs?.stop()
    await rm(work, { recursive: true, force: true })
  }, 60_000)

  it('plays the cached phrase (hit), answers a new one with the fallback at once (error), /readyz 200 degraded', async () => {
    const ready = await service!.http('/readyz')
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ status: 'degraded', checks: { engine: { state: 'degraded' } } })
    const hit = await placeCall(control!, '7001')
    expect(hit.variable('tts_cache_status')).toBe('hit')
    expect(hit.played).toEqual([hit.variable('tts_file')])
    const miss = await placeCall(control!, '7002')
    expect(miss.variable('tts_cache_status')).toBe('error')
    expect(miss.variable('tts_file') ?? '').not.toMatch(/\.wav$/)
    expect(miss.variable('tts_cache_key')).toMatch(/^[0-9a-f]{64}$/)
    expect(await service!.renders()).toBe(0)
  })

  it('doctor logs in to its inbound Event Socket (FS_ESL_HOST/PORT/PASSWORD), and says so when the password is wrong', async () => {
    const env = { TTS_CACHE_DIR: cacheDir(), TTS_HTTP_PORT: String(await freePort()), TTS_ESL_PORT: String(await freePort()), FS_ESL_HOST: '127.0.0.1', FS_ESL_PORT: String(fs!.eslPort) }
    const ok = await runCli(['doctor'], { ...env, FS_ESL_PASSWORD: fs!.password })
    expect(ok.stdout).toMatch(/^ok\s+freeswitch inbound esl\s+.*logged in/m)
    const wrong = await runCli(['doctor'], { ...env, FS_ESL_PASSWORD: `${fs!.password}-wrong` })
    expect(wrong.stdout).toMatch(/^FAIL\s+freeswitch inbound esl\s+.*login refused/m)
    expect(wrong.code).toBe(1)
  })
})
