/**
 * A real Redis for tests. `startTestRedis()`: REDIS_URL when set; else testcontainers' Redis
 * module when a container engine answers quickly; else a Debian `redis-server` spawned on a free
 * port in a temp dir. `spawnRedisServer()` always spawns one we control (kill, restart on the
 * same port) for the outage tests. Readiness comes from the server's own log line, never a sleep.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'

export type TestRedisSource = 'env' | 'testcontainers' | 'redis-server'

export interface TestRedis {
  readonly url: string
  readonly source: TestRedisSource
  stop(): Promise<void>
}

export interface SpawnedRedis extends TestRedis {
  readonly port: number
  readonly pid: number | undefined
  /** Kills the server (SIGKILL by default: no shutdown, no goodbye to clients). */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>
  /** SIGSTOP: sockets stay open but nothing answers (a hung or partitioned Redis). */
  pause(): void
  /** SIGCONT after pause(). */
  resume(): void
}

/** Each test namespaces its keys: queues and audio of different tests never meet. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomUUID().slice(0, 8)}`
}

export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

export async function startTestRedis(): Promise<TestRedis> {
  const fromEnv = process.env['REDIS_URL']
  if (fromEnv !== undefined && fromEnv !== '') return { url: fromEnv, source: 'env', stop: async () => undefined }
  const container = await startContainerRedis()
  if (container !== undefined) return container
  if (!redisServerInstalled()) throw new Error('no Redis for tests: set REDIS_URL, start a Docker engine, or install redis-server')
  return spawnRedisServer()
}

/**
 * Places a container engine announces itself. Checked before importing testcontainers (a 1.5 s
 * import) so machines without any engine skip this path at once.
 */
function containerEngineHinted(): boolean {
  const env = process.env
  if (env['DOCKER_HOST'] !== undefined || env['TESTCONTAINERS_HOST_OVERRIDE'] !== undefined) return true
  const home = homedir()
  const runtimeDir = env['XDG_RUNTIME_DIR'] ?? ''
  return [
    '/var/run/docker.sock',
    '/run/podman/podman.sock',
    path.join(home, '.docker', 'run', 'docker.sock'),
    path.join(home, '.docker', 'desktop', 'docker.sock'),
    path.join(home, '.colima', 'default', 'docker.sock'),
    path.join(home, '.testcontainers.properties'),
    path.join(runtimeDir, 'podman', 'podman.sock'),
    path.join(runtimeDir, 'docker.sock'),
  ].some((candidate) => existsSync(candidate))
}

/** testcontainers' Redis, only when a container runtime answers within `probeMs`; else undefined. */
async function startContainerRedis(probeMs = 3000): Promise<TestRedis | undefined> {
  if (!containerEngineHinted()) return undefined
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    let timer: NodeJS.Timeout | undefined
    const probe = await Promise.race([
      getContainerRuntimeClient().then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), probeMs)
        timer.unref()
      }),
    ]).catch(() => false)
    clearTimeout(timer)
    if (!probe) return undefined
    const { RedisContainer } = await import('@testcontainers/redis')
    const started = await new RedisContainer('redis:7-alpine').start()
    return {
      url: started.getConnectionUrl(),
      source: 'testcontainers',
      stop: async () => {
        await started.stop()
      },
    }
  } catch {
    // No reachable container engine (this machine has none): the next option is used.
    return undefined
  }
}

/**
 * `extraArgs`: more redis-server options (e.g. `['--requirepass', pw]`, `['--cluster-enabled',
 * 'yes']`), kept across restarts. `readyLine`: the log line that says it is ready.
 */
export async function spawnRedisServer(extraArgs: readonly string[] = [], readyLine = 'Ready to accept connections'): Promise<SpawnedRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tts-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  const start = async (): Promise<void> => {
    const started = await launch(port, dir, extraArgs, readyLine)
    child = started.child
    exited = started.exited
  }
  await start()
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGCONT')
    child.kill(signal)
    await exited
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    source: 'redis-server',
    port,
    get pid() {
      return child?.pid
    },
    kill,
    restart: start,
    pause: () => {
      child?.kill('SIGSTOP')
    },
    resume: () => {
      child?.kill('SIGCONT')
    },
    stop: async () => {
      await kill('SIGTERM')
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Spawns redis-server (argv, no shell) and resolves when it logs `readyLine`. */
function launch(port: number, dir: string, extraArgs: readonly string[], readyLine: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction', ...extraArgs]
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let log = ''
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      log += `${line}\n`
      if (line.includes(readyLine)) resolve({ child, exited })
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
    })
    child.once('error', reject)
    void exited.then(() => reject(new Error(`redis-server on port ${port} exited before it was ready:\n${log}`)))
  })
}

/** A port free right now on 127.0.0.1 (bind 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
