import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/core/defaults.js'

const read = (path: string) => readFileSync(new URL(`../../freeswitch/${path}`, import.meta.url), 'utf8')

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

/** The actions of one macro, in order. */
function macroActions(xml: string, name: string): { fn: string; data: string }[] {
  const macro = new RegExp(`<macro name="${name}"[^>]*>([\\s\\S]*?)</macro>`).exec(xml)
  expect(macro, name).not.toBeNull()
  return [...macro![1]!.matchAll(/<action function="([^"]+)" data="([^"]*)"\/>/g)].map((m) => ({ fn: m[1]!, data: m[2]! }))
}

describe('the shipped freeswitch/ files', () => {
  it('are well-formed XML', () => {
    for (const file of ['lang/en/ivr/tts_cache.xml', 'dialplan/tts_cache_examples.xml', 'autoload_configs/event_socket.conf.xml']) {
      assertWellFormed(read(file))
    }
  })

  it.each(['tts_cache', 'tts_cache_prompt'])('macro %s follows the captured pattern, with the fallback preset before socket()', (name) => {
    const xml = read('lang/en/ivr/tts_cache.xml')
    expect(xml).toMatch(new RegExp(`<macro name="${name}" pause="0">`))
    const actions = macroActions(xml, name)
    expect(actions.map((a) => a.fn)).toEqual(['execute', 'execute', 'execute', 'play-file'])
    expect(actions[0]!.data).toBe('set(tts_text=$1)')
    expect(actions[1]!.data).toMatch(/^set\(tts_file=.+\)$/)
    // The service's default port, with `full` (the api path); play-file expands ${tts_file} after the socket step.
    expect(actions[2]!.data).toBe(`socket(${DEFAULTS.eslHost}:${DEFAULTS.eslPort} full)`)
    expect(actions[3]!.data).toBe('${tts_file}')
  })

  it('uses the FreeSWITCH say:<engine>:<voice>:<text> form for the TTS fallback', () => {
    const [, preset] = macroActions(read('lang/en/ivr/tts_cache.xml'), 'tts_cache')
    expect(preset!.data).toMatch(/^set\(tts_file=say:[a-z_]+:[a-z0-9_]+:\$1\)$/)
  })

  it('points every dialplan socket at the service default port and documents the variables it sets', () => {
    const xml = read('dialplan/tts_cache_examples.xml')
    for (const m of xml.matchAll(/application="socket" data="([^"]+)"/g)) expect(m[1]).toBe(`${DEFAULTS.eslHost}:${DEFAULTS.eslPort} full`)
    const readme = read('README.md')
    for (const v of ['tts_text', 'tts_voice', 'tts_engine', 'tts_rate', 'tts_cache_deadline_ms', 'tts_file', 'tts_cache_status', 'tts_cache_key', 'pause="0"', 'full', 'fs_cli', '${']) {
      expect(readme).toContain(v)
    }
  })

  it('ships an event_socket snippet bound to loopback with an ACL and no vanilla password', () => {
    const xml = read('autoload_configs/event_socket.conf.xml')
    expect(xml).toContain('<param name="listen-ip" value="127.0.0.1"/>')
    expect(xml).toContain('<param name="apply-inbound-acl" value="tts_cache"/>')
    expect(xml).not.toMatch(/name="password" value="ClueCon"/)
  })
})
