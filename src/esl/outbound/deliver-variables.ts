import { toTtsError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/index.js'
import type { ChannelData } from '../codec/channel-data.js'
import { exitCommand, sendmsgSetCommand, uuidSetvarCommand, type EslCommand } from '../codec/command.js'
import type { EslConnection, ReplyOutcome } from '../connection/connection.js'
import { isCommandNotFound, isRefusal } from '../connection/replies.js'

/** A variable we write: a fixed name and a value that is a hash-derived path, a status word or a key. */
export type ChannelVariable = readonly [name: 'tts_file' | 'tts_cache_status' | 'tts_cache_key', value: string]

export interface DeliverOptions {
  /** Write all commands (and `exit`, when the mode is known) in one TCP write. */
  readonly pipeline: boolean
  readonly logger: Logger
}

/**
 * Writes the variables and ends the session with `exit`, in as few round trips as the socket
 * mode allows:
 *
 * - `Control: full`           → `api uuid_setvar` × n + `exit`, one write (1 round trip).
 * - `Control: single-channel` → `sendmsg` execute `set` × n + `exit`, one write (1 round trip).
 * - no/unknown Control        → `api uuid_setvar` × n; if refused with `-ERR command not found`
 *                               (no `full`), `sendmsg` set × n; then `exit` (2–3 round trips).
 *
 * Resolves true when every variable was acknowledged with +OK. Never rejects, never writes to a
 * closed socket (the connection refuses), never writes CR/LF (the encoder refuses).
 *
 * The first write is handed to the socket synchronously, before this function returns its
 * promise (the session measures service-side time right after the call; keep it that way).
 */
export async function deliverVariables(
  connection: EslConnection,
  data: ChannelData,
  variables: readonly ChannelVariable[],
  options: DeliverOptions,
): Promise<boolean> {
  const uuid = data.uuid
  let viaApi = data.control !== 'single-channel' && uuid !== undefined
  let sets: EslCommand[]
  try {
    sets = encodeSets(variables, viaApi ? uuid : undefined)
  } catch (err) {
    options.logger.error({ err }, 'refused to write a channel variable; closing with exit only')
    await send(connection, [exitCommand()], options.pipeline)
    return false
  }
  const modeKnown = data.control !== undefined
  if (modeKnown) {
    const replies = await send(connection, [...sets, exitCommand()], options.pipeline)
    const ok = allAccepted(replies.slice(0, sets.length))
    if (!ok && viaApi && replies.some((r) => r.ok && isCommandNotFound(r.frame))) {
      options.logger.error({}, 'api refused although CHANNEL_DATA said Control: full; status not written')
    }
    return ok
  }
  let replies = await send(connection, sets, options.pipeline)
  if (viaApi && replies.some((r) => r.ok && isCommandNotFound(r.frame))) {
    // `socket(...)` without `full`: api is refused, sendmsg works (captures q3-*-nofull-*).
    options.logger.debug({}, 'api refused (socket without full); falling back to sendmsg set')
    viaApi = false
    replies = await send(connection, encodeSets(variables, undefined), options.pipeline)
  }
  await send(connection, [exitCommand()], options.pipeline)
  return allAccepted(replies)
}

function encodeSets(variables: readonly ChannelVariable[], uuid: string | undefined): EslCommand[] {
  return variables.map(([name, value]) => (uuid !== undefined ? uuidSetvarCommand(uuid, name, value) : sendmsgSetCommand(name, value)))
}

function allAccepted(replies: readonly ReplyOutcome[]): boolean {
  return replies.length > 0 && replies.every((r) => r.ok && !isRefusal(r.frame))
}

/** Pipelined (one write) or one command per round trip, stopping at the first failure. */
async function send(connection: EslConnection, commands: readonly EslCommand[], pipeline: boolean): Promise<ReplyOutcome[]> {
  if (pipeline) return connection.sendAll(commands)
  const replies: ReplyOutcome[] = []
  for (const command of commands) {
    try {
      replies.push({ ok: true, frame: await connection.send(command) })
    } catch (err) {
      replies.push({ ok: false, error: toTtsError(err) })
      break
    }
  }
  return replies
}
