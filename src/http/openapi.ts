import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type HTTPMethods, type RouteOptions } from 'fastify'

/** The routes the browsable page and the document are served from (those @fastify/swagger-ui registers). */
const DOCS_ROUTES: readonly { readonly url: string; readonly method: HTTPMethods[] }[] = [
  { url: '/docs', method: ['GET'] },
  { url: '/docs/', method: ['GET'] },
  { url: '/docs/json', method: ['GET'] },
  { url: '/docs/yaml', method: ['GET'] },
  { url: '/docs/static/*', method: ['GET', 'HEAD'] },
]

/** What the document is made from: each route as it was declared, without its handler. */
type DocumentedRoute = Pick<RouteOptions, 'method' | 'url' | 'schema' | 'config'>

/** Headers of the docs app's answer not copied to ours (the reply sets its own). */
const HOP_HEADERS = new Set(['content-length', 'connection', 'keep-alive', 'transfer-encoding', 'date'])

/**
 * The OpenAPI document, generated from the route schemas (GET /docs/json, /docs/yaml), and the
 * browsable page (GET /docs). Must be registered before the routes.
 *
 * Built on the first request to /docs, not at start: @fastify/swagger and @fastify/swagger-ui
 * (and what they load: yaml, @fastify/static, a JSON-schema resolver) cost ~115 ms of CPU in
 * `ready()`, measured with `node --cpu-prof` and phase marks on `serve` start-up — time every
 * first ESL call and HTTP hit after a restart waited behind. Here the routes are only recorded
 * as they are declared; the first /docs request builds a small Fastify app (never listening)
 * with the two plugins and the same routes (handlers that are never called, no compiled
 * schemas), and every /docs request is answered by it through `inject`.
 */
export function registerOpenApi(app: FastifyInstance, options: { readonly authAllRoutes: boolean }): void {
  const routes: DocumentedRoute[] = []
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) return
    const { method, url, schema, config } = route
    routes.push({ method, url, ...(schema === undefined ? {} : { schema }), ...(config === undefined ? {} : { config }) })
  })
  let docsApp: Promise<FastifyInstance> | undefined
  app.addHook('onClose', async () => {
    if (docsApp !== undefined) await (await docsApp.catch(() => undefined))?.close()
  })
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    // A failed build is not kept: the next request tries again.
    docsApp ??= buildDocsApp(routes, options).catch((error: unknown) => {
      docsApp = undefined
      throw error
    })
    const answer = await (await docsApp).inject({ method: request.method as HTTPMethods, url: request.url, headers: forwardedHeaders(request) })
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_HEADERS.has(name)) void reply.header(name, value)
    return reply.code(answer.statusCode).send(answer.rawPayload)
  }
  for (const route of DOCS_ROUTES) app.route({ ...route, handler })
}

function forwardedHeaders(request: FastifyRequest): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && name !== 'host' && !HOP_HEADERS.has(name)) headers[name] = value
  return headers
}

/** The app that makes the document and serves the page: the two plugins and the recorded routes. */
async function buildDocsApp(routes: readonly DocumentedRoute[], options: { readonly authAllRoutes: boolean }): Promise<FastifyInstance> {
  const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([import('@fastify/swagger'), import('@fastify/swagger-ui')])
  const docs = Fastify({ logger: false, exposeHeadRoutes: false })
  // The routes are never called here: nothing to validate or serialise.
  docs.setValidatorCompiler(() => () => true)
  docs.setSerializerCompiler(() => (data) => JSON.stringify(data))
  await docs.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'freeswitch-tts-cache',
        description: 'Render-once TTS cache for FreeSWITCH. Errors are always {code, message}; see docs/errors.md and docs/http.md.',
        version: '1',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'audio', description: 'Get WAVs' },
        { name: 'prewarm', description: 'Render ahead of time' },
        { name: 'cache', description: 'Inspect and purge' },
        { name: 'ops', description: 'Health, readiness, metrics' },
      ],
    },
    // Document who needs the token: state-changing routes always, every route but the
    // public ones with authAllRoutes, and /v1/tts only for refresh=true (`{}` = no auth).
    transform: ({ schema, url, route }) => {
      const policy = route.config?.auth
      const always = policy === 'token' || (options.authAllRoutes && policy !== 'public')
      const security = always ? [{ bearerAuth: [] }] : url === '/v1/tts' ? [{}, { bearerAuth: [] }] : undefined
      return { schema: security === undefined ? schema : ({ ...schema, security } as typeof schema), url }
    },
  })
  await docs.register(swaggerUi, { routePrefix: '/docs' })
  for (const route of routes) docs.route({ ...route, handler: () => undefined })
  await docs.ready()
  return docs
}
