import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { LazySchemaCompilers, schemaKey, VALIDATION_OPTIONS } from '../../src/http/lazy-schema-compilers.js'

const servers: FastifyInstance[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close()
})

/** Two routes with request and response schemas, on Fastify with or without the lazy compilers. */
async function serverWith(compilers: LazySchemaCompilers | undefined): Promise<FastifyInstance> {
  const app = Fastify(
    compilers === undefined
      ? { exposeHeadRoutes: false }
      : { exposeHeadRoutes: false, schemaController: { compilersFactory: { buildValidator: compilers.buildValidator, buildSerializer: compilers.buildSerializer } } },
  )
  servers.push(app)
  app.get(
    '/say',
    {
      schema: {
        querystring: { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 }, rate: { type: 'integer', minimum: 8000, default: 8000 } }, additionalProperties: false },
        response: { 200: { type: 'object', properties: { text: { type: 'string' }, rate: { type: 'integer' } } } },
      },
    },
    async (request) => ({ ...(request.query as object), secret: 'not in the schema' }),
  )
  app.post(
    '/batch',
    { schema: { body: { type: 'object', required: ['items'], properties: { items: { type: 'array', maxItems: 2 } } } } },
    async () => ({ ok: true }),
  )
  await app.ready()
  return app
}

const requests = [
  { method: 'GET', url: '/say?text=hello' },
  { method: 'GET', url: '/say?text=hello&rate=16000' },
  { method: 'GET', url: '/say?text=' },
  { method: 'GET', url: '/say?rate=abc' },
  { method: 'GET', url: '/say?text=a&extra=1' },
  { method: 'POST', url: '/batch', payload: { items: [1, 2, 3] } },
  { method: 'POST', url: '/batch', payload: { items: [1] } },
] as const

describe('LazySchemaCompilers', () => {
  it('validates, coerces, fills defaults and serializes exactly as Fastify’s own compilers', async () => {
    const eager = await serverWith(undefined)
    const lazy = await serverWith(new LazySchemaCompilers())
    for (const request of requests) {
      const [a, b] = await Promise.all([eager.inject(request), lazy.inject(request)])
      expect({ url: request.url, status: b.statusCode, body: b.body }).toEqual({ url: request.url, status: a.statusCode, body: a.body })
    }
  })

  it('compiles nothing while getting ready, a route on its first request, and the rest in compileAll', async () => {
    const compilers = new LazySchemaCompilers()
    const app = await serverWith(compilers)
    // /say: querystring validator + response serializer; /batch: body validator.
    expect(compilers.pending).toBe(3)
    expect((await app.inject({ method: 'GET', url: '/say?text=hi' })).statusCode).toBe(200)
    expect(compilers.pending).toBe(1)
    expect(await compilers.compileAll()).toEqual([])
    expect(compilers.pending).toBe(0)
  })

  it('reports a schema that does not compile from compileAll; its route answers 500, the others work', async () => {
    const compilers = new LazySchemaCompilers()
    const app = Fastify({ exposeHeadRoutes: false, schemaController: { compilersFactory: { buildValidator: compilers.buildValidator, buildSerializer: compilers.buildSerializer } } })
    servers.push(app)
    app.get('/broken', { schema: { querystring: { type: 'object', properties: { n: { type: 'no-such-type' } } } } }, async () => 'x')
    app.get('/fine', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async () => 'y')
    await app.ready()
    const failures = await compilers.compileAll()
    expect(failures).toHaveLength(1)
    expect(failures[0]?.message).toMatch(/schema is invalid: data\/properties\/n/)
    expect((await app.inject({ method: 'GET', url: '/broken?n=1' })).statusCode).toBe(500)
    expect((await app.inject({ method: 'GET', url: '/fine?n=1' })).statusCode).toBe(200)
  })
})

describe('validators generated at build time', () => {
  it('are used instead of compiling, and answer exactly as the compiled ones', async () => {
    const { mkdir, mkdtemp, rm, writeFile } = await import('node:fs/promises')
    const { createRequire } = await import('node:module')
    const { join } = await import('node:path')
    const { recordingValidatorBuilder, validatorModuleSource } = await import('../../src/http/precompile-validators.js')
    const recorder = recordingValidatorBuilder()
    const generating = Fastify({ exposeHeadRoutes: false, schemaController: { compilersFactory: { buildValidator: recorder.buildValidator } } })
    servers.push(generating)
    // The same routes as serverWith's, so the schemas (and their keys) are the same.
    generating.get('/say', { schema: { querystring: { type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 }, rate: { type: 'integer', minimum: 8000, default: 8000 } }, additionalProperties: false } } }, async () => 'x')
    generating.post('/batch', { schema: { body: { type: 'object', required: ['items'], properties: { items: { type: 'array', maxItems: 2 } } } } }, async () => 'x')
    await generating.ready()
    expect(recorder.generated()).toHaveLength(2)

    // Inside the project, as dist/http is: the module resolves @fastify/ajv-compiler from there.
    await mkdir(join(process.cwd(), 'node_modules', '.cache'), { recursive: true })
    const dir = await mkdtemp(join(process.cwd(), 'node_modules', '.cache', 'tts-validators-'))
    try {
      const file = join(dir, 'precompiled-validators.cjs')
      await writeFile(file, validatorModuleSource(recorder.generated()))
      const precompiled = createRequire(import.meta.url)(file) as import('../../src/http/lazy-schema-compilers.js').PrecompiledValidators
      const compilers = new LazySchemaCompilers(precompiled)
      const eager = await serverWith(undefined)
      const generated = await serverWith(compilers)
      for (const request of requests) {
        const [a, b] = await Promise.all([eager.inject(request), generated.inject(request)])
        expect({ url: request.url, status: b.statusCode, body: b.body }).toEqual({ url: request.url, status: a.statusCode, body: a.body })
      }
      expect(compilers.generatedUsed).toBe(2)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('are keyed by the Ajv options too: one generated with coercion is never used by a server that compiles without', async () => {
    const { recordingValidatorBuilder } = await import('../../src/http/precompile-validators.js')
    const schema = { type: 'object', properties: { rate: { type: 'integer' } } }
    const coercing = recordingValidatorBuilder()
    const built = Fastify({ exposeHeadRoutes: false, schemaController: { compilersFactory: { buildValidator: coercing.buildValidator } } })
    servers.push(built)
    built.post('/x', { schema: { body: schema } }, async () => 'x')
    await built.ready()
    const [generated] = coercing.generated()
    expect(generated?.key).toBe(schemaKey(schema, {}))
    expect(generated?.key).not.toBe(schemaKey(schema, VALIDATION_OPTIONS))

    // A stale build (generated with coercion) in front of a strict server: compiled, not looked up.
    const strict = new LazySchemaCompilers({ [generated?.key ?? '']: () => (() => true) as never })
    const app = Fastify({
      exposeHeadRoutes: false,
      ajv: { customOptions: { ...VALIDATION_OPTIONS } },
      schemaController: { compilersFactory: { buildValidator: strict.buildValidator, buildSerializer: strict.buildSerializer } },
    })
    servers.push(app)
    app.post('/x', { schema: { body: schema } }, async () => 'ok')
    await app.ready()
    expect((await app.inject({ method: 'POST', url: '/x', payload: { rate: '8000' } })).statusCode).toBe(400)
    expect((await app.inject({ method: 'POST', url: '/x', payload: { rate: 8000 } })).statusCode).toBe(200)
    expect(strict.generatedUsed).toBe(0)
  })
})

describe('strict validation (VALIDATION_OPTIONS)', () => {
  async function strictServer(compilers: LazySchemaCompilers): Promise<FastifyInstance> {
    const app = Fastify({
      exposeHeadRoutes: false,
      ajv: { customOptions: { ...VALIDATION_OPTIONS } },
      schemaController: { compilersFactory: { buildValidator: compilers.buildValidator, buildSerializer: compilers.buildSerializer } },
    })
    servers.push(app)
    app.get('/q', { schema: { querystring: { type: 'object', properties: { on: { type: 'boolean' }, n: { type: 'string' } } } } }, async (request) => request.query)
    app.post('/b', { schema: { body: { type: 'object', properties: { text: { type: 'string' } }, additionalProperties: false } } }, async (request) => request.body)
    await app.ready()
    return app
  }

  it.each([
    ['/q?on=true', 200, '{"on":true}'],
    ['/q?on=false', 200, '{"on":false}'],
    ['/q?on=1', 400, undefined],
    ['/q?on=TRUE', 400, undefined],
    ['/q?on=true&on=true', 400, undefined],
    ['/q?n=8000.0', 200, '{"n":"8000.0"}'],
  ])('a query boolean is exactly true or false; other values stay text (%s)', async (url, status, body) => {
    const app = await strictServer(new LazySchemaCompilers())
    const res = await app.inject({ method: 'GET', url })
    expect(res.statusCode).toBe(status)
    if (body !== undefined) expect(res.body).toBe(body)
  })

  it.each([
    ['{"text":"a"}', 200],
    ['{"text":42}', 400],
    ['{"text":["a"]}', 400],
    ['{"text":"a","extra":1}', 400],
  ])('a JSON body is neither coerced nor trimmed of unknown properties (%s)', async (payload, status) => {
    const app = await strictServer(new LazySchemaCompilers())
    const res = await app.inject({ method: 'POST', url: '/b', headers: { 'content-type': 'application/json' }, payload })
    expect(res.statusCode).toBe(status)
  })
})
