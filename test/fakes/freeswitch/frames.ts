/**
 * FreeSWITCH's side of the wire, byte for byte as captured (inbound/ and outbound/ under
 * ../shared/esl-captures). Used by both test doubles.
 */
import { captureBytes, firstFrameBytes, OUTBOUND } from './captures.js'
import { fsUrlEncode } from './url-encode.js'

export const BANNER = 'Content-Type: auth/request\n\n'

export function commandReply(text: string): string {
  return `Content-Type: command/reply\nReply-Text: ${text}\n\n`
}

export function apiResponse(body: string): string {
  return `Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body)}\n\n${body}`
}

const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n'

/** Inbound (mod_event_socket) disconnect notice: after exit and after -ERR invalid (in-01, in-02). */
export const INBOUND_DISCONNECT_NOTICE = `Content-Type: text/disconnect-notice\nContent-Length: ${GOODBYE.length}\n\n${GOODBYE}`

/** Outbound disconnect notice: after exit, on hangup, when the peer closes first (q3-*, out-hangup-*). */
export function outboundDisconnectNotice(uuid: string): string {
  return (
    `Content-Type: text/disconnect-notice\nControlled-Session-UUID: ${uuid}\n` +
    `Content-Disposition: disconnect\nContent-Length: ${GOODBYE.length}\n\n${GOODBYE}`
  )
}

export const COMMAND_NOT_FOUND = commandReply('-ERR command not found')

/** Serialises a plain event the way switch_event_serialize does (values URL-encoded). */
export function plainEvent(headers: readonly (readonly [string, string])[], body?: string): string {
  let text = headers.map(([n, v]) => `${n}: ${fsUrlEncode(v)}\n`).join('')
  text += body === undefined ? '\n' : `Content-Length: ${Buffer.byteLength(body)}\n\n${body}`
  return `Content-Length: ${Buffer.byteLength(text)}\nContent-Type: text/event-plain\n\n${text}`
}

/** A plain event from lines that are already encoded (template lines from a capture). */
export function plainEventFromEncodedLines(lines: readonly string[], body?: string): string {
  let text = lines.map((l) => `${l}\n`).join('')
  text += body === undefined ? '\n' : `Content-Length: ${Buffer.byteLength(body)}\n\n${body}`
  return `Content-Length: ${Buffer.byteLength(text)}\nContent-Type: text/event-plain\n\n${text}`
}

/** The json serialisation (switch_event_serialize_json): every value a string, body in _body. */
export function jsonEvent(headers: readonly (readonly [string, string])[], body?: string): string {
  const obj: Record<string, string> = {}
  for (const [n, v] of headers) obj[n] = v
  if (body !== undefined) {
    obj['Content-Length'] = String(Buffer.byteLength(body))
    obj['_body'] = body
  }
  const text = JSON.stringify(obj)
  return `Content-Length: ${Buffer.byteLength(text)}\nContent-Type: text/event-json\n\n${text}`
}

/** The lines of the body of the first plain event in an inbound capture (already URL-encoded). */
export function capturedEventLines(relative: string, eventName: string): string[] {
  const bytes = captureBytes(relative).toString('utf8')
  const marker = `Event-Name: ${eventName}\n`
  const at = bytes.indexOf(marker)
  if (at < 0) throw new Error(`no ${eventName} in ${relative}`)
  const start = bytes.lastIndexOf('\n\n', at) + 2
  const end = bytes.indexOf('\n\n', at)
  return bytes.slice(start, end).split('\n')
}

/** Captured `api status` / `api version` bodies (in-01). */
export function capturedApiBody(api: 'status' | 'version'): string {
  const text = captureBytes('inbound/in-01-banner-auth-api_status-exit.fs2peer.raw').toString('utf8')
  const marker = 'Content-Type: api/response\nContent-Length: '
  const first = text.indexOf(marker)
  const second = text.indexOf(marker, first + 1)
  const at = api === 'status' ? first : second
  const lenEnd = text.indexOf('\n', at + marker.length)
  const length = Number(text.slice(at + marker.length, lenEnd))
  return text.slice(lenEnd + 2, lenEnd + 2 + length)
}

export interface ChannelDataSpec {
  readonly uuid?: string | undefined
  /** Channel variables in the order set before socket(); values are plain text (encoded here). */
  readonly variables?: readonly (readonly [string, string])[] | undefined
  /** `full`, `single-channel`, or omit the Control header (an odd FreeSWITCH). */
  readonly control?: 'full' | 'single-channel' | 'omit' | undefined
  readonly socketMode?: 'static' | 'async' | undefined
  /** variable_current_application_data, e.g. "127.0.0.1:8040 full". */
  readonly applicationData?: string | undefined
}

export const DEFAULT_CHANNEL_DATA_CAPTURE = 'q3-phrase-full-api_setvar'

/**
 * The CHANNEL_DATA reply to `connect`, built from a captured one with only what a real call
 * changes substituted: the channel UUID, the variables set before socket() (in place of
 * variable_tts_text), Control, Socket-Mode, and the socket app's data. With the captured
 * values substituted back it is byte-identical to the capture (asserted in a test).
 */
export function channelDataFrame(spec: ChannelDataSpec, capture = DEFAULT_CHANNEL_DATA_CAPTURE): Buffer {
  const template = firstFrameBytes(OUTBOUND(capture)).toString('utf8')
  const lines = template.slice(0, -2).split('\n')
  const templateUuid = (lines.find((l) => l.startsWith('Unique-ID: ')) ?? '').slice('Unique-ID: '.length)
  const out: string[] = []
  const variableLines = (spec.variables ?? []).map(([n, v]) => `variable_${n}: ${fsUrlEncode(v)}`)
  let variablesPlaced = false
  for (const raw of lines) {
    const line = spec.uuid !== undefined && templateUuid !== '' ? raw.split(templateUuid).join(spec.uuid) : raw
    if (line.startsWith('variable_tts_text: ')) {
      if (spec.variables !== undefined) {
        out.push(...variableLines)
        variablesPlaced = true
      } else {
        out.push(line)
      }
      continue
    }
    if (line.startsWith('variable_current_application_data: ')) {
      if (spec.variables !== undefined && !variablesPlaced) {
        out.push(...variableLines)
        variablesPlaced = true
      }
      out.push(spec.applicationData === undefined ? line : `variable_current_application_data: ${fsUrlEncode(spec.applicationData)}`)
      continue
    }
    if (line.startsWith('Socket-Mode: ') && spec.socketMode !== undefined) {
      out.push(`Socket-Mode: ${spec.socketMode}`)
      continue
    }
    if (line.startsWith('Control: ') && spec.control !== undefined) {
      if (spec.control !== 'omit') out.push(`Control: ${spec.control}`)
      continue
    }
    out.push(line)
  }
  return Buffer.from(`${out.join('\n')}\n\n`, 'utf8')
}
