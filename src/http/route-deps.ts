import type { FastifyRequest } from 'fastify'
import type { BearerAuth } from './bearer-auth.js'

/** What the route plugins share, passed as plugin options by buildHttpServer. */
export interface RouteDeps {
  readonly auth: BearerAuth
  /** Base of the URLs we hand out (TTS_PUBLIC_URL, else the request's checked Host: public-url.ts). */
  baseUrl(request: FastifyRequest): string
  /** True once the server began closing (its one flag: http-server.ts registerShutdown). */
  isClosing(): boolean
}

/** Throws the 401 TtsError unless the request carries the configured bearer token. */
export function requireToken(deps: RouteDeps, request: FastifyRequest): void {
  const error = deps.auth.verify(request.headers.authorization)
  if (error !== undefined) throw error
}

export function audioUrl(deps: RouteDeps, request: FastifyRequest, key: string): string {
  return `${deps.baseUrl(request)}/v1/audio/${key}.wav`
}
