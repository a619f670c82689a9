import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'

/**
 * The OpenAPI document, generated from the route schemas (GET /docs/json, /docs/yaml), and the
 * browsable page (GET /docs). Must be registered before the routes.
 */
export function registerOpenApi(app: FastifyInstance, options: { readonly authAllRoutes: boolean }): void {
  app.register(swagger, {
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
  app.register(swaggerUi, { routePrefix: '/docs' })
}
