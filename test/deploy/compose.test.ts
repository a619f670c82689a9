/**
 * docker/ without a Docker engine (none here, none in CI): the files are checked as text for what
 * issue 20 asked. Every image pinned to an exact version (no `latest`, no bare major/minor);
 * every published port bound to 127.0.0.1 (GET /v1/tts renders without a token, the ESL hook has
 * no authentication); the ESL allow-list set in compose and valid for the service's own parser;
 * a health check on every long-running service that listens; and a .dockerignore that lets in
 * exactly what the Dockerfile COPYs (and not node_modules, .tools, .git, dist, .env).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseEslAllowList } from '../../src/esl/allow-list.js'
import { ROOT } from '../harness/deploy/live-metrics.js'

const COMPOSE = readFileSync(join(ROOT, 'docker/compose.yaml'), 'utf8')
const DOCKERFILE = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8')
const DOCKERIGNORE = readFileSync(join(ROOT, '.dockerignore'), 'utf8')

/** `name:` blocks under `services:` (two-space indented keys), with their text. */
function services(): Map<string, string> {
  const body = /^services:\n([\s\S]*?)^\S/m.exec(COMPOSE)?.[1] ?? ''
  const out = new Map<string, string>()
  for (const block of body.split(/^(?=  [a-z][\w-]*:\s*$)/m)) {
    const name = /^ {2}([a-z][\w-]*):/.exec(block)?.[1]
    if (name !== undefined) out.set(name, block)
  }
  return out
}

/** An exact version: x.y.z somewhere in the tag, or a digest. */
const EXACT = /^[\w./-]+(:[\w.-]*\d+\.\d+\.\d+[\w.-]*)?(@sha256:[0-9a-f]{64})?$/

describe('docker/compose.yaml and docker/Dockerfile', () => {
  it('pins every image to an exact version', () => {
    const images = [...COMPOSE.matchAll(/^\s+image:\s*(\S+)/gm)].map((m) => (m[1] ?? '').replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1'))
    expect(images.length).toBeGreaterThanOrEqual(5)
    for (const image of images.filter((i) => i !== 'freeswitch-tts-cache:local')) {
      expect(image, image).toMatch(EXACT)
      expect(image, image).toMatch(/:\S*\d+\.\d+\.\d+|@sha256:/)
      expect(image).not.toMatch(/:latest\b/)
    }
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(DOCKERFILE)?.[1] ?? ''
    expect(base).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/)
    expect([...DOCKERFILE.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual(['${NODE_IMAGE}', '${NODE_IMAGE}'])
  })

  it('publishes every port on 127.0.0.1 only', () => {
    const published = [...COMPOSE.matchAll(/^\s+ports:\s*\[(.*)\]/gm)].flatMap((m) => (m[1] ?? '').split(',').map((p) => p.trim().replace(/"/g, '')))
    expect(published).toEqual(expect.arrayContaining(['127.0.0.1:8080:8080', '127.0.0.1:8040:8040', '127.0.0.1:8081:8081']))
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/)
    expect(COMPOSE).not.toMatch(/^\s+- "?\d+:\d+"?\s*$/m)
  })

  it('sets a valid ESL allow-list that lets in loopback and the compose gateway, and nobody else', () => {
    const value = /TTS_ESL_ALLOW: "([^"]+)"/.exec(COMPOSE)?.[1] ?? ''
    const list = parseEslAllowList(value)
    expect(list.allows('127.0.0.1')).toBe(true)
    const gateway = /gateway: (\S+)/.exec(COMPOSE)?.[1] ?? ''
    expect(list.allows(gateway)).toBe(true)
    expect(list.allows('172.30.40.7')).toBe(false)
    expect(list.allows('192.0.2.1')).toBe(false)
    expect(parseEslAllowList(/TTS_ESL_ALLOW=(\S+)/.exec(DOCKERFILE)?.[1] ?? '').allows('10.0.0.1')).toBe(false)
  })

  it('has a health check on every service that listens', () => {
    const all = services()
    expect([...all.keys()]).toEqual(expect.arrayContaining(['redis-queue', 'redis-audio', 'tts-cache', 'tts-worker', 'nginx-front', 'freeswitch']))
    for (const [name, block] of all) {
      if (name === 'tts-worker') {
        expect(block).toContain('disable: true') // no listener; BullMQ notices a dead worker
        continue
      }
      expect(block, name).toMatch(/healthcheck:\n(?:\s+#.*\n)*\s+test: \[/)
    }
  })

  it('.dockerignore lets in exactly what the Dockerfile COPYs from the context', () => {
    const allowed = DOCKERIGNORE.split('\n').filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''))
    expect(DOCKERIGNORE).toMatch(/^\*$/m)
    const copied = [...DOCKERFILE.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(' ')).map((p) => p.replace(/\/$/, ''))
    expect(copied.length).toBeGreaterThanOrEqual(5)
    for (const path of copied) expect(allowed, path).toContain(path)
    for (const path of allowed) expect(copied, `${path} is let in but never copied`).toContain(path)
    for (const secret of ['node_modules', '.tools', '.git', 'dist', '.env']) expect(allowed).not.toContain(secret)
  })
})
