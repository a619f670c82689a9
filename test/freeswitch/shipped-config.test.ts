import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/core/defaults.js'
import { MACRO_END_EXACT, MACRO_END_VERBATIM, MACRO_TEXT_GUARD, unwrapMacroText, wrapMacroText } from '../../src/esl/outbound/call-input.js'
import { HOOK_VARIABLES } from '../../src/esl/codec/channel-data.js'

const read = (path: string) => readFileSync(new URL(`../../freeswitch/${path}`, import.meta.url), 'utf8')
const XML_FILES = ['lang/en/ivr/tts_cache.xml', 'dialplan/tts_cache_examples.xml', 'autoload_configs/event_socket.conf.xml']

/** Minimal well-formedness: comments removed, every element closed in order, no `--` in comments. */
function assertWellFormed(xml: string): void {
  for (const comment of xml.match(/<!--[\s\S]*?-->/g) ?? []) expect(comment.slice(4, -3)).not.toContain('--')
  const body = xml.replace(/<!--[\s\S]*?-->/g, '')
  const stack: string[] = []
  for (const m of body.matchAll(/<(\/?)([A-Za-z_][\w.-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m
    if (selfClosing === '/') continue
    if (closing === '/') expect(stack.pop(), `</${name}>`).toBe(name)
    else stack.push(name!)
  }
  expect(stack).toEqual([])
}

const attributes = (tag: string): Record<string, string> =>
  Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]))

/** The inputs of one macro: their attributes and their actions' attributes, in order. */
function macroInputs(xml: string, name: string): { input: Record<string, string>; actions: Record<string, string>[] }[] {
  const macro = new RegExp(`<macro name="${name}" pause="0">([\\s\\S]*?)</macro>`).exec(xml.replace(/<!--[\s\S]*?-->/g, ''))
  expect(macro, name).not.toBeNull()
  return [...macro![1]!.matchAll(/<input([^>]*)>([\s\S]*?)<\/input>/g)].map((m) => ({
    input: attributes(m[1]!),
    actions: [...m[2]!.matchAll(/<action([^>]*)\/>/g)].map((a) => attributes(a[1]!)),
  }))
}

describe('the shipped freeswitch/ files', () => {
  it('are well-formed XML without a $${ anywhere (FreeSWITCH preprocesses comments too)', () => {
    for (const file of XML_FILES) {
      const xml = read(file)
      assertWellFormed(xml)
      expect(xml, file).not.toContain('$${')
    }
  })

  it.each([
    ['tts_cache', 'tts_cache_play'],
    ['tts_cache_prompt', 'tts_cache_play'],
  ])('macro %s clears the status, wraps the text as the service unwraps it, calls the service, then %s', (name, player) => {
    const inputs = macroInputs(read('lang/en/ivr/tts_cache.xml'), name)
    expect(inputs.map((i) => i.input['pattern'])).toEqual(['^([^%]*)$', '^([\\s\\S]*)$'])
    expect(inputs[0]!.input['break_on_match']).toBe('true')
    const ends = [MACRO_END_EXACT, MACRO_END_VERBATIM]
    inputs.forEach(({ actions }, i) => {
      expect(actions).toEqual([
        { function: 'execute', data: 'unset(tts_cache_status)' },
        // No closing parenthesis: see MACRO_TEXT_GUARD.
        { function: 'execute', data: `set(${HOOK_VARIABLES.text}=${MACRO_TEXT_GUARD}$1${ends[i]}` },
        { function: 'phrase', phrase: 'tts_cache_socket' },
        { function: 'phrase', phrase: player, data: '$1' },
      ])
    })
  })

  it('wraps and unwraps texts the way the two macro inputs do (the exact marker only without %)', () => {
    for (const text of ['Hello (world', 'Press 1) now', '50% or %41', '']) {
      const wrapped = wrapMacroText(text)
      expect(wrapped.endsWith(text.includes('%') ? MACRO_END_VERBATIM : MACRO_END_EXACT)).toBe(true)
      expect(unwrapMacroText(wrapped)).toBe(text)
    }
    expect(unwrapMacroText('plain text set in a dialplan')).toBe('plain text set in a dialplan')
    expect(unwrapMacroText(`${MACRO_TEXT_GUARD}Press 1`)).toMatchObject({ code: 'TTS_ERR_BAD_REQUEST' })
  })

  it('connects to tts_cache_esl_address, or the service default when that variable is unset (no address written anywhere else)', () => {
    const [socket] = macroInputs(read('lang/en/ivr/tts_cache.xml'), 'tts_cache_socket')
    expect(socket!.input).toEqual({ field: `\${tts_cache_esl_address} ${DEFAULTS.eslHost}:${DEFAULTS.eslPort}`, pattern: '^\\s*(\\S+)' })
    expect(socket!.actions).toEqual([{ function: 'execute', data: 'socket($1 full)' }])
    const firstWord = (value: string): string | undefined => /^\s*(\S+)/.exec(`${value} ${DEFAULTS.eslHost}:${DEFAULTS.eslPort}`)?.[1]
    expect(firstWord('')).toBe(`${DEFAULTS.eslHost}:${DEFAULTS.eslPort}`)
    expect(firstWord('10.0.0.5:9040')).toBe('10.0.0.5:9040')
  })

  it('tts_cache_play plays the WAV only for a delivered status and a file that exists, else the fallback with the module check', () => {
    const [delivered, fallback] = macroInputs(read('lang/en/ivr/tts_cache.xml'), 'tts_cache_play')
    expect(delivered!.input).toMatchObject({ field: '${tts_cache_status}:${file_exists(${tts_file})}', pattern: '^(hit|rendered|coalesced):true$', break_on_match: 'true' })
    expect(delivered!.actions).toEqual([{ function: 'play-file', data: '${tts_file}' }])
    expect(fallback!.actions).toEqual([{ function: 'phrase', phrase: 'tts_cache_fallback', data: '${module_exists(mod_flite)}:$1' }])
  })

  it('tts_cache_fallback: speak with mod_flite when loaded, else tts_cache_fallback_file, else a tone (never nothing)', () => {
    const [speak, file, tone] = macroInputs(read('lang/en/ivr/tts_cache.xml'), 'tts_cache_fallback')
    expect(speak!.input).toMatchObject({ pattern: '^true:([\\s\\S]*)$', break_on_match: 'true' })
    expect(speak!.actions).toEqual([{ function: 'speak-text', 'tts-engine': 'flite', 'tts-voice': 'kal', data: '$1' }])
    expect(file!.input).toMatchObject({ field: '${tts_cache_fallback_file}', pattern: '^(.+)$', break_on_match: 'true' })
    expect(file!.actions).toEqual([{ function: 'play-file', data: '$1' }])
    expect(tone!.input).toEqual({ pattern: '^' })
    expect(tone!.actions).toEqual([{ function: 'play-file', data: 'tone_stream://%(300,100,440);loops=2' }])
  })

  it("never sets FreeSWITCH's own tts_engine / tts_voice, nor the old tts_text", () => {
    for (const file of XML_FILES) {
      const body = read(file).replace(/<!--[\s\S]*?-->/g, '')
      expect(body, file).not.toMatch(/\b(tts_engine|tts_voice|tts_text|tts_rate)=/)
    }
  })

  it('takes every service address in the examples from the variables, with the service defaults (never hard-coded in an action)', () => {
    const xml = read('dialplan/tts_cache_examples.xml').replace(/<!--[\s\S]*?-->/g, '')
    const sockets = [...xml.matchAll(/application="socket" data="([^"]+)"/g)]
    expect(sockets.length).toBe(2)
    for (const m of sockets) expect(m[1]).toBe('$1 full')
    const urls = [...xml.matchAll(/application="playback" data="(http_cache:[^"]+)"/g)]
    expect(urls.length).toBe(2)
    for (const m of urls) expect(m[1]).toMatch(/^http_cache:\/\/\$1\//)
    const conditions = [...xml.matchAll(/<condition field="([^"]*)" expression="\^\\s\*\(\\S\+\)">/g)].map((m) => m[1])
    expect(conditions).toEqual([
      `\${tts_cache_esl_address} ${DEFAULTS.eslHost}:${DEFAULTS.eslPort}`,
      `\${tts_cache_esl_address} ${DEFAULTS.eslHost}:${DEFAULTS.eslPort}`,
      `\${tts_cache_http_url} http://${DEFAULTS.httpHost}:${DEFAULTS.httpPort}`,
      `\${tts_cache_http_url} http://${DEFAULTS.httpHost}:${DEFAULTS.httpPort}`,
    ])
    // No other place names a port: the variables are the only way in.
    expect(xml.match(/:80[0-9]{2}\b/g)).toHaveLength(4)
  })

  it('documents the variables, modules and bounds in freeswitch/README.md', () => {
    const readme = read('README.md')
    for (const v of [
      ...Object.values(HOOK_VARIABLES),
      'tts_file',
      'tts_cache_status',
      'tts_cache_key',
      'tts_cache_esl_address',
      'tts_cache_http_url',
      'tts_cache_fallback_file',
      '<load module="mod_flite"/>',
      '<load module="mod_http_cache"/>',
      'pause="0"',
      'full',
      'fs_cli',
      '${',
      '25 s',
      '--supervise',
      'TTS_WATCHDOG_MS',
    ]) {
      expect(readme).toContain(v)
    }
  })

  it("ships an event_socket snippet that matches the service's inbound defaults, loopback only", () => {
    const xml = read('autoload_configs/event_socket.conf.xml')
    expect(xml).toContain('<param name="listen-ip" value="127.0.0.1"/>')
    expect(xml).toContain(`<param name="listen-port" value="${DEFAULTS.fsEslPort}"/>`)
    expect(xml).toContain(`<param name="password" value="${DEFAULTS.fsEslPassword}"/>`)
    expect(xml).toContain('<param name="apply-inbound-acl" value="loopback.auto"/>')
  })
})
