import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { CacheLayout, parseCacheFileName } from '../../../src/store/disk/layout.js'
import { keyOf } from '../../harness/store/fixtures.js'

const key = keyOf('layout')

describe('cache layout', () => {
  it('shards by the first two byte pairs of the key', () => {
    const layout = new CacheLayout('/var/cache/tts/')
    const dir = `/var/cache/tts/${key.slice(0, 2)}/${key.slice(2, 4)}`
    expect(layout.dirOf(key)).toBe(dir)
    expect(layout.wavPath(key)).toBe(`${dir}/${key}.wav`)
    expect(layout.sidecarPath(key)).toBe(`${dir}/${key}.json`)
    expect(layout.lockPath(key)).toBe(`${dir}/${key}.lock`)
    expect(layout.wavPath(key)).toBe(path.join('/var/cache/tts', key.slice(0, 2), key.slice(2, 4), `${key}.wav`))
    expect(new CacheLayout('/').wavPath(key)).toBe(path.join('/', key.slice(0, 2), key.slice(2, 4), `${key}.wav`))
  })

  it('names temp files after the key and our pid, beside the final file, each time anew', () => {
    const layout = new CacheLayout('/c')
    const a = layout.tempPath(key, 'wav')
    expect(path.dirname(a)).toBe(layout.dirOf(key))
    expect(path.basename(a)).toMatch(new RegExp(`^${key}\\.${process.pid}\\.[0-9a-f]{12}\\.tmp\\.wav$`))
    expect(layout.tempPath(key, 'wav')).not.toBe(a)
    expect(parseCacheFileName(path.basename(a))).toEqual({ kind: 'temp', key, pid: process.pid, ext: 'wav' })
  })

  it.each([
    [`${key}.wav`, { kind: 'wav', key }],
    [`${key}.json`, { kind: 'sidecar', key }],
    [`${key}.lock`, { kind: 'lock', key }],
    [`${key}.123.abc.tmp.lock`, { kind: 'temp', key, pid: 123, ext: 'lock' }],
    [`${key}.wav.bak`, { kind: 'foreign' }],
    [`${key.toUpperCase()}.wav`, { kind: 'foreign' }],
    [`${key}.-1.abc.tmp.wav`, { kind: 'foreign' }],
    ['README', { kind: 'foreign' }],
  ])('classifies %s', (name, expected) => {
    expect(parseCacheFileName(name)).toEqual(expected)
  })
})
