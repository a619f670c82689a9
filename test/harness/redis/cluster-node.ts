/**
 * A serving node in its own process: TtsService + disk store (own temp dir) + cluster queue.
 *   argv: <redisUrl> <prefix>
 *   stdout: {type:'ready', dir}
 *   stdin:  {cmd:'get', text, count}  → fires `count` concurrent requests, then
 *           {type:'got', statuses: {...}, paths: [...], failures: [...]}
 *           {cmd:'exit'}              → closes everything, exits 0
 */
import { createInterface } from 'node:readline'
import { startTestNode } from './test-nodes.js'

const [redisUrl = '', prefix = ''] = process.argv.slice(2)

function say(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

const node = await startTestNode({ redisUrl, prefix })
say({ type: 'ready', dir: node.dir })

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { cmd: string; text?: string; count?: number }
  if (command.cmd === 'get') {
    const requests = Array.from({ length: command.count ?? 1 }, () => node.service.get({ text: command.text ?? '' }, { source: 'cli' }))
    const settled = await Promise.allSettled(requests)
    const statuses: Record<string, number> = {}
    const paths = new Set<string>()
    const failures: string[] = []
    for (const result of settled) {
      if (result.status === 'fulfilled') {
        statuses[result.value.status] = (statuses[result.value.status] ?? 0) + 1
        paths.add(result.value.path)
      } else {
        failures.push(String((result.reason as Error).message))
      }
    }
    say({ type: 'got', statuses, paths: [...paths], failures, counts: node.queue.backendCounts() })
  } else if (command.cmd === 'exit') {
    await node.close()
    process.exit(0)
  }
}
