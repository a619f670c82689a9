import { describe, expect, it } from 'vitest'
import { invalidQueryParameter, parseQueryString } from '../../src/http/query-string.js'

describe('parseQueryString', () => {
  it('decodes names and values, + as space, repeated names as arrays', () => {
    expect({ ...parseQueryString('text=Hello+there%2C%20caller&voice=en&x=1&x=2&x=3&flag&=v') }).toEqual({
      text: 'Hello there, caller',
      voice: 'en',
      x: ['1', '2', '3'],
      flag: '',
      '': 'v',
    })
    expect({ ...parseQueryString('') }).toEqual({})
    expect({ ...parseQueryString('text=%E2%82%AC%F0%9F%98%80') }).toEqual({ text: '€😀' })
  })

  it('does not let __proto__ reach a prototype', () => {
    const q = parseQueryString('__proto__=x&constructor=y')
    expect(Object.getPrototypeOf(q)).toBeNull()
    expect(q['__proto__']).toBe('x')
  })

  it('records the first parameter that is not valid percent-encoded UTF-8', () => {
    expect(invalidQueryParameter(parseQueryString('text=a%ED%A0%80b&voice=en'))).toBe('text')
    expect(invalidQueryParameter(parseQueryString('text=a&voice=%E0%A4'))).toBe('voice')
    expect(invalidQueryParameter(parseQueryString('text=100%'))).toBe('text')
    expect(invalidQueryParameter(parseQueryString('text=ok'))).toBeUndefined()
    expect(parseQueryString('text=a%ED%A0%80b')['text']).toBeUndefined()
  })
})
