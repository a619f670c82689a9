// @ts-check
/**
 * The HTTP baseline: a minimal Fastify app serving a directory with @fastify/static — what a
 * plain static file server in the same framework does for the same WAV.
 *
 *   node load/bench/child/static-server.js <root> <port>
 *
 * Prints "ready" when listening; exits on SIGTERM/SIGINT.
 */
import fastifyStatic from '@fastify/static'
import Fastify from 'fastify'

const [, , root = '', portArg = '0'] = process.argv
const app = Fastify({ logger: false })
await app.register(fastifyStatic, { root, prefix: '/' })
await app.listen({ host: '127.0.0.1', port: Number(portArg) })
process.stdout.write('ready\n')
const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
