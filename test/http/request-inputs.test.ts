/** The small parsers behind the request guard: Content-Type, Host and X-Request-Id. */
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { isUtf8Charset, parseMediaType } from '../../src/http/media-type.js'
import { isValidHost } from '../../src/http/public-url.js'
import { requestIdGenerator } from '../../src/http/request-id.js'

describe('parseMediaType', () => {
  it.each([
    ['application/json', { type: 'application/json', charset: undefined }],
    ['Application/JSON; Charset=UTF-8', { type: 'application/json', charset: 'utf-8' }],
    ['text/plain;charset="utf-8"', { type: 'text/plain', charset: 'utf-8' }],
    ['text/plain; format=flowed; charset=ISO-8859-1', { type: 'text/plain', charset: 'iso-8859-1' }],
    ['text/plain; a="x;charset=latin1"; charset=utf-8', { type: 'text/plain', charset: 'utf-8' }],
    ['text/plain; charset="ut\\f-8"', { type: 'text/plain', charset: 'utf-8' }],
  ])('%s', (header, expected) => {
    expect(parseMediaType(header)).toEqual(expected)
  })

  it.each([undefined, '', 'json', '/json', 'application/', 'application json'])('refuses %j', (header) => {
    expect(parseMediaType(header)).toBeUndefined()
  })

  it('takes UTF-8 or no charset, nothing else', () => {
    expect([undefined, 'utf-8'].map(isUtf8Charset)).toEqual([true, true])
    expect(['utf8', 'iso-8859-1', 'us-ascii', 'utf-16', ''].map(isUtf8Charset)).toEqual([false, false, false, false, false])
  })
})

describe('isValidHost', () => {
  it.each(['localhost', 'localhost:8080', 'tts.example.com', 'tts.example.com.', '10.0.0.5:65535', '[::1]', '[2001:db8::1]:8080', 'xn--bcher-kva.example'])(
    'takes %s',
    (host) => expect(isValidHost(host)).toBe(true),
  )
  it.each(['', ':8080', 'a:0', 'a:65536', 'a:08080', 'a b', 'a/b', 'u@a', 'a"b', '<a>', '-a.example', 'a..b', '[::1', 'a:8080:1', `${'a'.repeat(64)}.example`])(
    'refuses %j',
    (host) => expect(isValidHost(host)).toBe(false),
  )
  it('remembers a valid host (the hit path asks per request), never an invalid one', () => {
    expect([isValidHost('tts.example:8080'), isValidHost('tts.example:8080 '), isValidHost('tts.example:80800'), isValidHost('tts.example:8080')]).toEqual([true, false, false, true])
  })
})

describe('requestIdGenerator', () => {
  const request = (id?: string | string[]): IncomingMessage => ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as IncomingMessage
  it('keeps a well-formed id and replaces anything else with its own', () => {
    const next = requestIdGenerator()
    expect(next(request('abc-123'))).toBe('abc-123')
    expect(next(request())).toBe('req-1')
    expect(next(request('x'.repeat(129)))).toBe('req-2')
    expect(next(request(['a', 'b']))).toBe('req-3')
    expect(next(request('a\u00e9'))).toBe('req-4')
  })
})
