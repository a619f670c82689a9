/**
 * End to end on a REAL FreeSWITCH 1.10.12 (../shared/freeswitch): the project's freeswitch/
 * files included unchanged, the real `tts-cache serve` on its default ports, real loopback
 * calls. Assertions are on FreeSWITCH's own events (PLAYBACK_START path, PLAYBACK_STOP status,
 * the channel variables at hangup), its log, and what the caller's leg recorded.
 *
 * Timing is measured and printed (silence before speech), never a pass/fail threshold, with one
 * exception argued where it stands: telling our deadline apart from FreeSWITCH's own 25 s.
 */
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, ROOT } from '../support/app.js'
import {
  freeswitchAvailable,
  FREESWITCH_DIR,
  placeCall,
  speechIn,
  startFreeSwitch,
  startService,
  FreeSwitchControl,
  type CallRecord,
  type RunningFreeSwitch,
  type RunningService,
} from '../support/freeswitch.js'

if (!freeswitchAvailable) {
  // Said once, loudly: this suite is the only one that needs it.
  process.stderr.write(`test/freeswitch: skipped, no FreeSWITCH at ${FREESWITCH_DIR} (set FREESWITCH_TEST_DIR)\n`)
}

const RUN = Date.now().toString(36)
const xml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** The text table: each goes through the shipped tts_cache macro from a dialplan of its own. */
const LONG = Array.from({ length: 400 }, (_, i) => ['alpha', 'bravo', 'charlie', 'delta'][i % 4]).join(' ').slice(0, 1999) + '.'
const TABLE: readonly (readonly [name: string, text: string])[] = [
  ['percent-hex', '50% or %41'],
  ['paren-open', 'Hello (world'],
  ['paren-close', 'Press 1) for sales, 2) for support'],
  ['commas', 'One, two, three, four'],
  ['quotes', `She said "yes" and 'no'`],
  ['non-ascii', 'Grüße aus Köln, naïve café, 你好'],
  ['two-thousand', LONG],
  ['expansion', 'Your number is ${caller_id_number}'],
]

const NOFULL_TEXT = 'Dial %41 or 100% (not A), no full'

/** Extensions of this test only (the shipped examples are included unchanged beside them). */
function testDialplan(): string {
  const say = (name: string, text: string, extra = ''): string =>
    `  <extension name="tts_test_${name}">
    <condition field="destination_number" expression="^tts_test_${name}$">
      <action application="answer"/>${extra}
      <action application="phrase" data="tts_cache,${xml(text)}"/>
      <action application="hangup"/>
    </condition>
  </extension>`
  return [
    '<include>',
    // Table rows are pre-warmed, so they are hits: hang up after 2 s instead of playing 2,000 characters.
    ...TABLE.map(([name, text]) => say(name, text, '\n      <action application="sched_hangup" data="+2"/>')),
    say('dogpile', `Fifty callers ask for this new sentence at once, run ${RUN}.`),
    say('down', `The service is down, run ${RUN}.`),
    say('failing', `The engine fails, run ${RUN}.`),
    say('hung', `The engine hangs, run ${RUN}.`),
    say('frozen', `The service is frozen, run ${RUN}.`),
    say('prompt', `No TTS module on this box, run ${RUN}.`).replace('tts_cache,', 'tts_cache_prompt,'),
    // A directly set text with a % on a socket without `full`: the service must read it back with getvar.
    `  <extension name="tts_test_nofull">
    <condition field="destination_number" expression="^tts_test_nofull$">
      <action application="answer"/>
      <action application="sched_hangup" data="+2"/>
      <action application="unset" data="tts_cache_status"/>
      <action application="set" data="tts_cache_text=${xml(NOFULL_TEXT)}"/>
      <action application="socket" data="127.0.0.1:8040"/>
      <action application="phrase" data="tts_cache_play,\${tts_cache_text}"/>
      <action application="hangup"/>
    </condition>
  </extension>`,
    '</include>',
  ].join('\n')
}

describe.skipIf(!freeswitchAvailable)('a real FreeSWITCH 1.10.12 with the shipped freeswitch/ files', () => {
  let work: string
  let fs: RunningFreeSwitch
  let control: FreeSwitchControl
  let service: RunningService | undefined
  const measured: Record<string, unknown> = {}

  const serve = async (env: Record<string, string> = {}): Promise<RunningService> => {
    await service?.stop()
    service = await startService({
      TTS_CACHE_DIR: join(work, 'cache'),
      FS_ESL_HOST: '127.0.0.1',
      FS_ESL_PORT: String(fs.eslPort),
      FS_ESL_PASSWORD: fs.password,
      // A hung engine's render must not hold the next restart for the default 10 s.
      TTS_SHUTDOWN_GRACE_MS: '500',
      ...env,
    })
    return service
  }
  const postTts = async (body: Record<string, unknown>): Promise<{ key: string; path: string }> => {
    const res = await service!.http('/v1/tts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status).toBe(200)
    return (await res.json()) as { key: string; path: string }
  }
  const recordingPath = (name: string): string => join(work, `${name}.wav`)
  /** The fallback (FreeSWITCH's own TTS via the tts_cache_play macro) spoke this text. */
  const fallbackSpoke = async (call: CallRecord, text: string): Promise<boolean> =>
    (await fs.log()).split('\n').some((line) => line.startsWith(call.bUuid) && line.includes(`Speaking text: ${text}`))
  /** Calls tts_test_<name>, checks that the caller heard the fallback speak `text`, records the silence before it. */
  const callHearingFallback = async (name: string, text: string, label: string): Promise<{ call: CallRecord; onsetMs: number | undefined }> => {
    const call = await placeCall(control, `tts_test_${name}`, { record: recordingPath(name) })
    expect(call.played).toEqual([])
    expect(await fallbackSpoke(call, text)).toBe(true)
    const heard = await speechIn(call.recording!)
    expect(heard.voicedMs).toBeGreaterThan(500)
    measured[label] = heard.onsetMs
    return { call, onsetMs: heard.onsetMs }
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tts-fs-e2e-'))
    const dialplanDir = join(work, 'dialplan')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dialplanDir)
    await symlink(join(ROOT, 'freeswitch/dialplan/tts_cache_examples.xml'), join(dialplanDir, 'tts_cache_examples.xml'))
    await writeFile(join(dialplanDir, 'tts_test.xml'), testDialplan())
    fs = await startFreeSwitch({ dialplanDir, phrasesDir: join(ROOT, 'freeswitch/lang/en/ivr') })
    control = await FreeSwitchControl.connect(fs.eslPort, fs.password)
    await serve()
  }, 120_000)

  afterAll(async () => {
    if (Object.keys(measured).length > 0) process.stderr.write(`test/freeswitch measured: ${JSON.stringify(measured)}\n`)
    await service?.stop()
    control?.close()
    await fs?.stop()
    await rm(work, { recursive: true, force: true })
  }, 60_000)

  it('loads the shipped XML without errors (no "unterminated ${var}" from a comment)', async () => {
    expect(await control.api('reloadxml')).toContain('+OK')
    const log = await fs.log()
    expect(log).not.toMatch(/unterminated \$\{var\}/)
    expect(log).not.toMatch(/Error \[.*\] in file/)
  })

  it('7001 miss then hit: the cached WAV is what FreeSWITCH plays, in full, and the caller hears it', async () => {
    // A generous deadline for the one render here: a busy CI machine must not turn it into a timeout.
    const miss = await placeCall(control, '7001', { record: recordingPath('7001-miss'), vars: { tts_cache_deadline_ms: '20000' } })
    const hit = await placeCall(control, '7001', { record: recordingPath('7001-hit') })
    expect(miss.variable('tts_cache_status')).toBe('rendered')
    expect(hit.variable('tts_cache_status')).toBe('hit')
    const key = miss.variable('tts_cache_key')
    expect(hit.variable('tts_cache_key')).toBe(key)
    // The same phrase over HTTP is the same entry.
    expect((await postTts({ text: 'Your balance is forty two pounds' })).key).toBe(key)
    const path = hit.variable('tts_file')
    expect(path).toMatch(new RegExp(`/${key}\\.wav$`))
    for (const call of [miss, hit]) {
      expect(call.played).toEqual([path])
      expect(call.playbackStatuses).toEqual(['done'])
    }
    const heard = await speechIn(hit.recording!)
    expect(heard.voicedMs).toBeGreaterThan(500)
    measured['7001 hit: ms from answer to speech'] = heard.onsetMs
    measured['7001 miss: ms from answer to speech'] = (await speechIn(miss.recording!)).onsetMs
  })

  it('7002 renders with the voice and rate from tts_cache_voice / tts_cache_rate (FreeSWITCH tts_voice untouched)', async () => {
    const { key } = await postTts({ text: 'Thank you for calling. Please hold.', voice: 'en-us+f3', rate: 8000 })
    const call = await placeCall(control, '7002')
    expect(call.variable('tts_cache_key')).toBe(key)
    expect(call.variable('tts_cache_status')).toBe('hit')
    expect(call.variable('tts_cache_voice')).toBe('en-us+f3')
    expect(call.playbackStatuses).toEqual(['done'])
  })

  it('7003 direct set / socket / tts_cache_play plays the cached file', async () => {
    const { key, path } = await postTts({ text: 'Your call is important to us' })
    const call = await placeCall(control, '7003')
    expect(call.variable('tts_cache_key')).toBe(key)
    expect(call.played).toEqual([path])
    expect(call.playbackStatuses).toEqual(['done'])
  })

  it('7004 pre-warms through the CUSTOM tts_cache::prewarm event', async () => {
    const before = await service!.renders()
    await placeCall(control, '7004')
    // The event reaches the service's inbound connection on its own: wait for that render.
    for (let i = 0; i < 200 && (await service!.renders()) === before; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    // The pre-warm render has started (or finished): this request joins it or hits its result.
    const res = await service!.http('/v1/tts?text=Our%20offices%20are%20closed&voice=en-us', { method: 'HEAD' })
    expect(['hit', 'coalesced']).toContain(res.headers.get('x-tts-cache'))
    expect((await service!.renders()) - before).toBe(1)
  })

  it('7005 fetches the WAV by key over mod_http_cache after the socket step', async () => {
    const { key } = await postTts({ text: 'Your call is important to us' })
    const call = await placeCall(control, '7005')
    expect(call.variable('tts_cache_key')).toBe(key)
    expect(call.played).toEqual([`http_cache://http://127.0.0.1:8080/v1/audio/${key}.wav`])
    expect(call.playbackStatuses).toEqual(['done'])
  })

  it('7006 fetches by text over mod_http_cache (the URL ends in .wav) and plays it', async () => {
    const call = await placeCall(control, '7006')
    expect(call.played).toHaveLength(1)
    expect(call.played[0]).toMatch(/^http_cache:\/\/http:\/\/127\.0\.0\.1:8080\/v1\/tts\?.*&ext=\.wav$/)
    expect(call.playbackStatuses).toEqual(['done'])
    expect(await fs.log()).not.toMatch(new RegExp(`^${call.bUuid}.*(Unknown file Format|Invalid file format)`, 'm'))
  })

  it.each(TABLE)('text table: %s arrives byte-exact (same key as over HTTP, a hit)', async (name, text) => {
    // ${caller_id_number} is FreeSWITCH syntax: FreeSWITCH expands it (documented); the service
    // must see the expanded text exactly.
    const expanded = text.replace('${caller_id_number}', '0000000000')
    const { key } = await postTts({ text: expanded })
    const call = await placeCall(control, `tts_test_${name}`)
    expect(call.variable('tts_cache_key')).toBe(key)
    expect(call.variable('tts_cache_status')).toBe('hit')
  })

  it('a directly set text with %41 on a socket without full is read back with getvar, byte-exact', async () => {
    const { key } = await postTts({ text: NOFULL_TEXT })
    const call = await placeCall(control, 'tts_test_nofull')
    expect(call.variable('tts_cache_key')).toBe(key)
    expect(call.variable('tts_cache_status')).toBe('hit')
  })

  it('50 concurrent calls on one new sentence: one render, and every call plays the whole file', async () => {
    const before = await service!.renders()
    const calls = await Promise.all(
      Array.from({ length: 50 }, () => placeCall(control, 'tts_test_dogpile', { vars: { tts_cache_deadline_ms: '10000' } })),
    )
    expect((await service!.renders()) - before).toBe(1)
    const paths = new Set(calls.map((c) => c.variable('tts_file')))
    expect(paths.size).toBe(1)
    const statuses = calls.map((c) => c.variable('tts_cache_status'))
    expect(statuses.filter((s) => s === 'rendered')).toHaveLength(1)
    for (const call of calls) {
      expect(call.played).toEqual([...paths])
      expect(call.playbackStatuses).toEqual(['done'])
    }
    measured['dogpile statuses'] = Object.fromEntries(['rendered', 'coalesced', 'hit'].map((s) => [s, statuses.filter((x) => x === s).length]))
  })

  it('engine failing: status error, and the caller hears the fallback sentence', async () => {
    await serve({ TTS_ENGINE: 'command', TTS_COMMAND: JSON.stringify([join(FIXTURES, 'fail-with-stderr'), '{out}']) })
    const { call } = await callHearingFallback('failing', `The engine fails, run ${RUN}.`, 'engine failing: ms of silence before the fallback')
    expect(call.variable('tts_cache_status')).toBe('error')
  })

  it('engine hung: status timeout at the deadline, and the fallback speaks (silence ≈ deadline)', async () => {
    await serve({
      TTS_ENGINE: 'command',
      TTS_COMMAND: JSON.stringify([join(FIXTURES, 'sleep-then-speak'), '{out}']),
      TTS_FIXTURE_SLEEP_S: '30',
      TTS_RENDER_TIMEOUT_MS: '60000',
    })
    const { call, onsetMs } = await callHearingFallback('hung', `The engine hangs, run ${RUN}.`, 'engine hung: ms of silence before the fallback (deadline 2500)')
    expect(call.variable('tts_cache_status')).toBe('timeout')
    expect(call.variable('tts_cache_key')).toMatch(/^[0-9a-f]{64}$/)
    // Not a speed goal: FreeSWITCH on its own gives up after 25 s. Silence well below that shows
    // the service's deadline (2.5 s by default) ended the wait, not FreeSWITCH's timeout.
    expect(onsetMs).toBeLessThan(20_000)
  })

  it('service down: socket() is refused at once and the caller hears the fallback', async () => {
    await service!.stop()
    service = undefined
    const { call } = await callHearingFallback('down', `The service is down, run ${RUN}.`, 'service down: ms of silence before the fallback')
    expect(call.variable('tts_cache_status')).toBeUndefined()
  })

  it('tts_cache_prompt (no TTS module): with the service down it plays tts_cache_fallback_file, else a tone', async () => {
    expect(service).toBeUndefined()
    const tone = await placeCall(control, 'tts_test_prompt')
    expect(tone.variable('tts_cache_status')).toBeUndefined()
    expect(tone.played).toEqual(['tone_stream://%(300,100,440);loops=2'])
    expect(tone.playbackStatuses).toEqual(['done'])
    const prompt = join(work, 'prompt.wav')
    const { copyFile } = await import('node:fs/promises')
    await copyFile(recordingPath('down'), prompt)
    const file = await placeCall(control, 'tts_test_prompt', { vars: { tts_cache_fallback_file: prompt } })
    expect(file.played).toEqual([prompt])
    expect(file.playbackStatuses).toEqual(['done'])
  })

  it('service frozen (accepts, never answers): the fallback still speaks, after FreeSWITCH gives up', async () => {
    const frozen = await serve()
    frozen.freeze()
    try {
      const { call } = await callHearingFallback(
        'frozen',
        `The service is frozen, run ${RUN}.`,
        'service frozen: ms of silence before the fallback (FreeSWITCH connect timeout)',
      )
      expect(call.variable('tts_cache_status')).toBeUndefined()
    } finally {
      frozen.thaw()
    }
  }, 90_000)
})
