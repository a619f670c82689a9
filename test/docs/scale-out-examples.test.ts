/**
 * docs/scale-out.md's shell blocks run as printed (issue 20 item 7), in a network, mount and pid
 * namespace of their own (`unshare --net --mount --pid`, root): the documented names and fixed
 * ports (queue-redis:6379, audio-redis:6379, 8040/8080) are this namespace's, never a stranger's,
 * and every process started there dies with it.
 *
 * The blocks name other machines, so the harness stands in for them and for nothing else:
 * - /etc/hosts (bind-mounted) resolves queue-redis to 127.0.0.2 and audio-redis to 127.0.0.3;
 * - `redis-server`, for the two-instances block, is the real one, given the next of those
 *   addresses (`--bind`, the first line is the queue's) and `--daemonize yes` (each line would
 *   hold its own terminal on its own box);
 * - `tts-cache` starts the real CLI (dist/cli/main.js) in the background, as each line would on
 *   its box, its output in a log file.
 * The Sentinel and the Cluster blocks are followed by `tts-cache doctor` (what the text after them
 * says to run): their settings are valid and the Redis they name is the one doctor reports on.
 * Then a second serving node (box B: its own ports and cache dir, the same exported Redis settings)
 * asks for the sentence node A had the worker render: one render for the cluster, the same bytes.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT } from '../harness/app/test-app.js'
import { markedShellBlocks } from '../harness/docs/shell-blocks.js'
import { strictTestRun } from '../harness/store/tmpfs.js'

const DOC = 'docs/scale-out.md'
const canUnshare = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', 'true']).status === 0
const TEXT = 'One render for the whole cluster'

/** The part of `out` between the `== name` line and the next `== ` line. */
function section(out: string, name: string): string {
  const at = out.indexOf(`== ${name}\n`)
  if (at < 0) return ''
  const rest = out.slice(at + name.length + 4)
  const end = rest.indexOf('\n== ')
  return end < 0 ? rest : rest.slice(0, end + 1)
}

describe('docs/scale-out.md examples', () => {
  let work: string | undefined
  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true })
  })

  it('run as printed: two Redis instances, a serving node without workers, a worker, the Sentinel and Cluster settings', async (ctx) => {
    if (!canUnshare) {
      const why = 'needs `unshare --net --mount --pid` (root) to run the documented names and fixed ports apart from this machine'
      if (strictTestRun) throw new Error(`${DOC} examples: ${why} (CI / TTS_TEST_STRICT=1: may not be skipped)`)
      process.stderr.write(`\n*** ${DOC} examples: SKIPPING, ${why} ***\n\n`)
      return ctx.skip()
    }
    const blocks = markedShellBlocks(DOC, 'test/docs/scale-out-examples.test.ts').map((b) => b.body)
    const nodes = blocks.find((b) => b.includes('tts-cache worker'))
    const sentinel = blocks.find((b) => b.includes('REDIS_SENTINELS='))
    const cluster = blocks.find((b) => b.includes('REDIS_CLUSTER_NODES='))
    const redis = blocks.find((b) => b.startsWith('redis-server'))
    expect([nodes, sentinel, cluster, redis].map((b) => b !== undefined), 'the four marked blocks').toEqual([true, true, true, true])
    expect(blocks).toHaveLength(4)

    work = await mkdtemp(join(tmpdir(), 'tts-scale-out-docs-'))
    const logs = join(work, 'logs')
    await mkdir(logs)
    await writeFile(join(work, 'hosts'), '127.0.0.1 localhost\n127.0.0.2 queue-redis\n127.0.0.3 audio-redis\n')
    const main = JSON.stringify(join(ROOT, 'dist/cli/main.js'))
    const waitFor = (what: string) => `for i in $(seq 150); do ${what} && break; [ "$i" -lt 150 ] || { echo "timed out: ${what.replace(/"/g, '')}"; exit 1; }; sleep 0.2; done`
    const get = (port: number, out: string) =>
      `curl -sf -D - -o ${out} 'http://127.0.0.1:${port}/v1/tts?text=${encodeURIComponent(TEXT)}' | tr -d '\\r' | grep -i '^x-tts-cache'`
    const script = [
      'set -euo pipefail',
      'ip link set lo up',
      'mount -t tmpfs tmpfs /var/lib',
      'mount --bind hosts /etc/hosts',
      `doctor() { node ${main} doctor; }`,
      'echo "== sentinel"',
      `( ${sentinel!}\ndoctor || echo "doctor exit $?" )`,
      'echo "== cluster"',
      `( ${cluster!}\ndoctor || echo "doctor exit $?" )`,
      'r=1',
      'redis-server() { r=$((r+1)); command redis-server "$@" --bind 127.0.0.$r --daemonize yes --logfile logs/redis-$r.log; }',
      redis!,
      waitFor('redis-cli -h queue-redis ping >/dev/null 2>&1 && redis-cli -h audio-redis ping >/dev/null 2>&1'),
      'echo "== policies"',
      'for h in queue-redis audio-redis; do echo "$h $(redis-cli -h $h config get maxmemory-policy | tail -1) $(redis-cli -h $h config get appendonly | tail -1) $(redis-cli -h $h config get maxmemory | tail -1)"; done',
      'n=0',
      `tts-cache() { n=$((n+1)); node ${main} "$@" > logs/tts-cache-$n-$1.log 2>&1 & }`,
      nodes!,
      waitFor('curl -sf -o /dev/null http://127.0.0.1:8080/readyz'),
      waitFor("grep -q 'render worker running' logs/tts-cache-*-worker.log"),
      'echo "== node A"',
      get(8080, 'a.wav'),
      'echo "== audio keys"',
      "redis-cli -h audio-redis --scan --pattern 'tts-cache:audio:*'",
      'echo "== queue keys"',
      "redis-cli -h queue-redis --scan --pattern 'tts-cache:render:*' | sort | head -3",
      // Box B: another serving node with the same exported Redis settings (its own ports and disk here).
      'TTS_HTTP_PORT=8081 TTS_ESL_PORT=8041 TTS_CACHE_DIR=/var/lib/tts-cache-b TTS_WORKERS_IN_PROCESS=false tts-cache serve',
      waitFor('curl -sf -o /dev/null http://127.0.0.1:8081/readyz'),
      'echo "== node B"',
      get(8081, 'b.wav'),
      'cmp a.wav b.wav && echo "== same bytes"',
      'kill $(jobs -p)',
      'wait',
      'echo "== done"',
    ].join('\n')
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: work, LANG: 'C.UTF-8', TTS_LOG_LEVEL: 'debug' }
    const ran = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'bash', '-c', script], { cwd: work, env, encoding: 'utf8', timeout: 90_000 })
    const logText = async () => {
      const parts = []
      for (const name of (await readdir(logs)).sort()) parts.push(`--- ${name}\n${(await readFile(join(logs, name), 'utf8')).split('\n').slice(-15).join('\n')}`)
      return parts.join('\n')
    }
    const said = `exit ${ran.status} ${ran.signal ?? ''}\n--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}\n${await logText()}`
    expect(ran.status, said).toBe(0)
    const out = ran.stdout

    // The Sentinel and Cluster settings are valid; doctor names their Redis and the setting to change.
    for (const [name, setting, where] of [
      ['sentinel', 'REDIS_SENTINELS / REDIS_SENTINEL_NAME', 'sentinel tts via 10.0.0.11:26379,10.0.0.12:26379,10.0.0.13:26379'],
      ['cluster', 'REDIS_CLUSTER_NODES', 'cluster via 10.0.0.21:7000,10.0.0.22:7000,10.0.0.23:7000'],
    ] as const) {
      const doctor = section(out, name)
      expect(doctor, said).toMatch(/^ok +config +valid$/m)
      expect(doctor, said).toContain(`FAIL  redis`)
      expect(doctor, said).toContain(where)
      expect(doctor, said).toContain(`(${setting})`)
      expect(doctor, said).toContain('doctor exit 1')
    }
    // The two instances as the table above the block describes them.
    expect(section(out, 'policies'), said).toBe('queue-redis noeviction yes 0\naudio-redis allkeys-lru no 536870912\n')
    // Node A (no workers of its own) got the sentence rendered by the worker, through the queue
    // Redis, and the WAV published to the audio Redis; node B then found it there.
    expect(section(out, 'node A'), said).toMatch(/^x-tts-cache: rendered$/im)
    const audioKeys = section(out, 'audio keys').trim().split('\n')
    expect(audioKeys, said).toHaveLength(1)
    expect(audioKeys[0], said).toMatch(/^tts-cache:audio:[0-9a-f]{64}$/)
    expect(section(out, 'queue keys'), said).toMatch(/^tts-cache:render:/m)
    // A cluster hit: node B copied the published WAV to its own disk; no job, no render.
    expect(section(out, 'node B'), said).toMatch(/^x-tts-cache: hit$/im)
    expect(out, said).toContain('== same bytes')
    expect(out, said).toContain('== done')
    const worker = (await readdir(logs)).find((n) => n.endsWith('-worker.log'))!
    const published = (await readFile(join(logs, worker), 'utf8')).split('\n').filter((l) => l.includes('"render published"'))
    expect(published, said).toHaveLength(1)
  }, 120_000)
})
