import { TtsError, type ErrorCode } from '../../core/errors.js'
import { authCommand, eventPlainCommand, type EslCommand } from '../codec/command.js'
import type { EslConnection } from '../connection/connection.js'
import { isRefusal } from '../connection/replies.js'

export interface HandshakeOptions {
  readonly password: string
  readonly prewarmSubclass: string
  /** For the error details only. */
  readonly host: string
  readonly port: number
}

/**
 * After the auth/request banner: `auth`, then `event plain HEARTBEAT`, then
 * `event plain CUSTOM <subclass>` (two commands: FreeSWITCH takes every word after CUSTOM as a
 * subclass). Throws TTS_ERR_ESL_AUTH on `-ERR invalid` (no password in it), TTS_ERR_ESL_PROTOCOL
 * on a refused subscription, and the connection's TTS_ERR_ESL_TIMEOUT / TTS_ERR_ESL_CLOSED.
 */
export async function authenticateAndSubscribe(connection: EslConnection, options: HandshakeOptions): Promise<void> {
  await expectOk(connection, authCommand(options.password), 'TTS_ERR_ESL_AUTH', options)
  await expectOk(connection, eventPlainCommand(['HEARTBEAT']), 'TTS_ERR_ESL_PROTOCOL', options)
  await expectOk(connection, eventPlainCommand(['CUSTOM', options.prewarmSubclass]), 'TTS_ERR_ESL_PROTOCOL', options)
}

async function expectOk(connection: EslConnection, command: EslCommand, failure: ErrorCode, options: HandshakeOptions): Promise<void> {
  const reply = await connection.send(command)
  if (!isRefusal(reply)) return
  if (failure === 'TTS_ERR_ESL_AUTH') throw new TtsError('TTS_ERR_ESL_AUTH', { details: { host: options.host, port: options.port } })
  throw new TtsError(failure, { args: [`"${command.name}" refused: ${(reply.header('Reply-Text') ?? '').slice(0, 80)}`] })
}
