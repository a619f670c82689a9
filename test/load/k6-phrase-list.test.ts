import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as k6Copy from '../../load/k6/lib/phrase-list.js'
import * as service from '../../src/core/phrase-list.js'
import { ROOT } from '../harness/app/test-app.js'

/**
 * One phrase-list format (issue 20): the CLI, POST /v1/prewarm text/plain and k6 read a file the
 * same way. load/k6 stays self-contained (it is copied to load-generator boxes that have only k6),
 * so it carries a copy of src/core/phrase-list.ts: this keeps the copy exact and runs both over
 * the same fixtures. Before: k6 read a JSON array, the HTTP route neither comments nor JSON lines.
 */
const FIXTURES = [
  join(ROOT, 'examples/prompts.txt'),
  ...readdirSync(join(ROOT, 'test/fixtures/phrase-lists')).map((f) => join(ROOT, 'test/fixtures/phrase-lists', f)),
]

describe('the k6 phrase-list parser', () => {
  it('is a byte-for-byte copy of the service parser (cp src/core/phrase-list.ts load/k6/lib/)', () => {
    expect(readFileSync(join(ROOT, 'load/k6/lib/phrase-list.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'src/core/phrase-list.ts'), 'utf8'))
  })

  it('is pure: no imports, so k6 loads it as it is', () => {
    expect(readFileSync(join(ROOT, 'src/core/phrase-list.ts'), 'utf8')).not.toMatch(/^\s*import\b|\brequire\(/m)
  })

  it.each(FIXTURES)('reads %s as the service does', (file) => {
    const content = readFileSync(file, 'utf8')
    for (const defaults of [{}, { voice: 'fr', pin: true }]) {
      expect(k6Copy.parsePhraseList(content, defaults)).toEqual(service.parsePhraseList(content, defaults))
    }
  })
})

describe('parsePhraseList', () => {
  it('reads examples/prompts.txt (the README step) with no errors', () => {
    const { items, errors } = service.parsePhraseList(readFileSync(join(ROOT, 'examples/prompts.txt'), 'utf8'))
    expect(errors).toEqual([])
    expect(items.length).toBe(5)
    expect(items.map((i) => i.item.text)).not.toContainEqual(expect.stringMatching(/^#|^\{/))
    expect(items.find((i) => i.item.pin === true)?.item.text).toBe('Please leave a message after the tone.')
  })

  it('skips comments and blanks, reads JSON lines field by field, reports each bad line with a suggestion', () => {
    const content = readFileSync(join(ROOT, 'test/fixtures/phrase-lists/edge-cases.txt'), 'utf8')
    const { items, errors } = service.parsePhraseList(content, { voice: 'fr' })
    expect(items).toEqual([
      { line: 3, item: { voice: 'fr', text: 'plain line' } },
      { line: 4, item: { voice: 'fr', text: '  spaces kept around  ' } },
      { line: 6, item: { text: 'json line', voice: 'en', engine: 'espeak-ng', sampleRate: 16000, pin: true } },
      { line: 7, item: { voice: 'fr', text: 'rate as text', sampleRate: '8000' } },
      { line: 8, item: { voice: 'fr', text: 'pin off', pin: false } },
      { line: 15, item: { voice: 'fr', text: '["an", "array"]' } },
      { line: 17, item: { voice: 'fr', text: 'not { json' } },
    ])
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [9, 'unknown field "pinn" (did you mean "pin"?)'],
      [10, 'unknown field "txt" (did you mean "text"?)'],
      [11, 'a JSON line needs a string "text"'],
      [12, '"pin" must be true or false'],
      [13, '"voice" must be a string'],
      [14, expect.stringMatching(/^invalid JSON/)],
      [16, expect.stringMatching(/^invalid JSON/)],
    ])
  })

  it('reads CRLF files', () => {
    const content = readFileSync(join(ROOT, 'test/fixtures/phrase-lists/crlf.txt'), 'utf8')
    expect(service.parsePhraseList(content).items.map((i) => i.item.text)).toEqual(['crlf one', 'crlf two'])
  })
})
