/**
 * Real Redis topologies for the scale-out tests, started from Debian's redis-server on free ports:
 * a master with a replica watched by a Sentinel (`redis-server <conf> --sentinel`), and a
 * 3-master Redis Cluster (`--cluster-enabled yes` + `redis-cli --cluster create`). Each returns
 * the RedisTarget the service is configured with, and stops everything it started.
 *
 * Waiting is on the servers' own words (their log lines, Sentinel's pub/sub events) or, where
 * Redis offers no event (a cluster agreeing on its state, a Sentinel learning a replica), on a
 * bounded re-check of the state itself — never a fixed sleep.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { RedisTarget } from '../../../src/redis/redis-target.js'
import { freePort, spawnRedisServer, type SpawnedRedis } from './server.js'

const run = promisify(execFile)

/** Re-checks `check` (every 50 ms, at most `attempts` times) until it returns true; throws naming `what`. */
export async function until(what: string, check: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`gave up waiting: ${what}`)
}

export interface SentinelSetup {
  readonly master: SpawnedRedis
  readonly replica: SpawnedRedis
  readonly sentinelPort: number
  /** The master group name. */
  readonly name: string
  /** What the service is configured with (REDIS_SENTINELS + REDIS_SENTINEL_NAME). */
  readonly target: RedisTarget
  /** The port the Sentinel names as master now. */
  masterPort(): Promise<number>
  /**
   * `SENTINEL FAILOVER`: the replica becomes master. Resolves with the new master's port once the
   * Sentinel announced the switch (+switch-master).
   */
  failover(): Promise<number>
  stop(): Promise<void>
}

/** A master, one replica of it, and one Sentinel (quorum 1) monitoring them. */
export async function startSentinelSetup(name = 'ttsmaster'): Promise<SentinelSetup> {
  const master = await spawnRedisServer()
  const replica = await spawnRedisServer(['--replicaof', '127.0.0.1', String(master.port)], 'MASTER <-> REPLICA sync: Finished with success')
  const dir = await mkdtemp(path.join(tmpdir(), 'tts-sentinel-'))
  const sentinelPort = await freePort()
  const conf = path.join(dir, 'sentinel.conf')
  await writeFile(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 2000`,
      `sentinel failover-timeout ${name} 10000`,
      '',
    ].join('\n'),
  )
  const sentinel = await launchSentinel(conf, `+monitor master ${name}`)
  const admin = new Redis({ port: sentinelPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 })
  await admin.connect()
  const masterPort = async (): Promise<number> => {
    const reply = (await admin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string]
    return Number(reply[1])
  }
  // The Sentinel learns the replica from the master's INFO and then talks to it; only then can it
  // promote it.
  await until('the Sentinel knows the replica and its link to the master is up', async () => {
    const replicas = (await admin.call('SENTINEL', 'REPLICAS', name)) as string[][]
    return replicas.some((fields) => {
      const info = fieldsOf(fields)
      return info['port'] === String(replica.port) && info['master-link-status'] === 'ok' && !(info['flags'] ?? '').includes('disconnected')
    })
  })
  return {
    master,
    replica,
    sentinelPort,
    name,
    target: { kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name },
    masterPort,
    async failover() {
      const events = new Redis({ port: sentinelPort, host: '127.0.0.1', maxRetriesPerRequest: 1 })
      try {
        const switched = new Promise<number>((resolve) => {
          events.on('message', (_channel: string, message: string) => {
            // "<name> <old-ip> <old-port> <new-ip> <new-port>"
            const parts = message.split(' ')
            if (parts[0] === name) resolve(Number(parts[4]))
          })
        })
        await events.subscribe('+switch-master')
        await admin.call('SENTINEL', 'FAILOVER', name)
        return await switched
      } finally {
        events.disconnect()
      }
    },
    async stop() {
      admin.disconnect()
      await stopChild(sentinel)
      await replica.stop()
      await master.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface ClusterSetup {
  readonly nodes: readonly SpawnedRedis[]
  /** What the service is configured with (REDIS_CLUSTER_NODES): the first node only, the rest are discovered. */
  readonly target: RedisTarget
  /** `host:port` of every master, for REDIS_CLUSTER_NODES. */
  readonly seeds: string
  stop(): Promise<void>
}

/** Three masters, no replicas, all 16384 slots assigned; resolves once every node says `cluster_state:ok`. */
export async function startRedisCluster(): Promise<ClusterSetup> {
  const nodes: SpawnedRedis[] = []
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(await spawnRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']))
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`)
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    for (const node of nodes) {
      const client = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
      try {
        await until(`node ${node.port} reports cluster_state:ok`, async () => String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok'))
      } finally {
        client.disconnect()
      }
    }
  } catch (err) {
    for (const node of nodes) await node.stop()
    throw err
  }
  return {
    nodes,
    target: { kind: 'cluster', nodes: [{ host: '127.0.0.1', port: nodes[0]!.port }] },
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    async stop() {
      for (const node of nodes) await node.stop()
    },
  }
}

/** The master (of a cluster) that holds `key`, by port. */
export async function clusterMasterOf(setup: ClusterSetup, key: string): Promise<number> {
  const client = new Redis({ port: setup.nodes[0]!.port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
  try {
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key))
    const shards = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][]
    const shard = shards.find(([from, to]) => slot >= from && slot <= to)
    if (shard === undefined) throw new Error(`no master serves slot ${slot}`)
    return shard[2][1]
  } finally {
    client.disconnect()
  }
}

function fieldsOf(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
  return out
}

interface SentinelChild {
  readonly child: ChildProcess
  readonly exited: Promise<void>
}

/** `redis-server <conf> --sentinel` (argv, no shell); resolves when it logs `readyLine`. */
function launchSentinel(conf: string, readyLine: string): Promise<SentinelChild> {
  const child = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let log = ''
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log += `${line}\n`
      if (line.includes(readyLine)) resolve({ child, exited })
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
    })
    child.once('error', reject)
    void exited.then(() => reject(new Error(`redis sentinel exited before it was ready:\n${log}`)))
  })
}

async function stopChild(sentinel: SentinelChild): Promise<void> {
  if (sentinel.child.exitCode === null && sentinel.child.signalCode === null) sentinel.child.kill('SIGTERM')
  await sentinel.exited
}
