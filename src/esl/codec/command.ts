import { TtsError } from '../../core/errors.js'

/**
 * One encoded command, ready for the socket. `name` is what logs and metrics may show: the
 * command word(s) only, never arguments (no channel text, no password). `text` is the exact
 * wire form (written as UTF-8); only the encoder below makes one.
 */
export interface EslCommand {
  readonly name: string
  readonly text: string
}

// FreeSWITCH ends a header line at CR or LF and a C string at NUL: any of them in a value would
// start a new header or a new command. We refuse them rather than escape: nothing we send
// legitimately contains one.
const LINE_BREAKING = /[\r\n\0]/
const HEADER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/
/** FreeSWITCH channel UUIDs (any case); also bounds what we echo into a command line. */
const CHANNEL_UUID = /^[0-9A-Za-z][0-9A-Za-z-]{0,63}$/
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
const CONTROL = /[\u0000-\u001f\u007f]/

export function isChannelUuid(value: unknown): value is string {
  return typeof value === 'string' && CHANNEL_UUID.test(value)
}

/**
 * Encodes `line` plus optional headers as one ESL command ("line\nName: value\n...\n\n").
 * Throws TTS_ERR_ESL_PROTOCOL if any part contains CR, LF or NUL, or a header name is odd:
 * this is the single choke point every byte we write to FreeSWITCH goes through.
 */
export function encodeCommand(name: string, line: string, headers: readonly (readonly [string, string])[] = []): EslCommand {
  if (line.length === 0 || LINE_BREAKING.test(line)) refuse(name, 'command line')
  let text = `${line}\n`
  for (const [header, value] of headers) {
    if (!HEADER_NAME.test(header)) refuse(name, 'header name')
    if (LINE_BREAKING.test(value)) refuse(name, `header ${header}`)
    text += `${header}: ${value}\n`
  }
  return Object.freeze({ name, text: `${text}\n` })
}

function refuse(name: string, what: string): never {
  throw new TtsError('TTS_ERR_ESL_PROTOCOL', {
    args: [`refusing to write an unsafe ${what} in "${name}" (CR, LF, NUL and control characters are never written)`],
  })
}

const CONNECT = encodeCommand('connect', 'connect')
const EXIT = encodeCommand('exit', 'exit')

/** Outbound: the first thing we send; FreeSWITCH answers with the CHANNEL_DATA block. */
export function connectCommand(): EslCommand {
  return CONNECT
}

export function exitCommand(): EslCommand {
  return EXIT
}

/** Inbound authentication. The password never appears in `name`. */
export function authCommand(password: string): EslCommand {
  if (password.length === 0 || CONTROL.test(password)) {
    throw new TtsError('TTS_ERR_CONFIG', { args: ['the event socket password must be non-empty and have no control characters'] })
  }
  return encodeCommand('auth', `auth ${password}`)
}

/** `event plain <words>`. Words are event names or (after CUSTOM) subclasses: no spaces inside. */
export function eventPlainCommand(words: readonly string[]): EslCommand {
  for (const word of words) {
    if (!/^[A-Za-z0-9_:.-]{1,128}$/.test(word)) refuse('event plain', 'event word')
  }
  return encodeCommand('event plain', `event plain ${words.join(' ')}`)
}

/**
 * `api uuid_setvar <uuid> <name> <value>` (full mode only). FreeSWITCH splits the arguments at
 * the first two spaces, so the value may hold spaces; it may not hold control characters.
 */
export function uuidSetvarCommand(uuid: string, variable: string, value: string): EslCommand {
  if (!isChannelUuid(uuid)) refuse('api uuid_setvar', 'channel uuid')
  checkVariable('api uuid_setvar', variable, value)
  return encodeCommand('api uuid_setvar', `api uuid_setvar ${uuid} ${variable} ${value}`)
}

/**
 * `api uuid_getvar <uuid> <name>` (full mode only): the value comes back verbatim as the
 * api/response body (`_undef_` when unset), unlike CHANNEL_DATA, whose URL encoding FreeSWITCH
 * does not make reversible (it leaves an existing `%XX` alone).
 */
export function uuidGetvarCommand(uuid: string, variable: string): EslCommand {
  if (!isChannelUuid(uuid)) refuse('api uuid_getvar', 'channel uuid')
  if (!VARIABLE_NAME.test(variable)) refuse('api uuid_getvar', 'variable name')
  return encodeCommand('api uuid_getvar', `api uuid_getvar ${uuid} ${variable}`)
}

/** `getvar <name>` (outbound, with or without `full`): the value verbatim in Reply-Text. */
export function getvarCommand(variable: string): EslCommand {
  if (!VARIABLE_NAME.test(variable)) refuse('getvar', 'variable name')
  return encodeCommand('getvar', `getvar ${variable}`)
}

/**
 * `sendmsg` + execute `set` for the controlled channel: works with and without `full`
 * (captured in out-full_walk-nofull and q3-*-sendmsg_set).
 */
export function sendmsgSetCommand(variable: string, value: string): EslCommand {
  checkVariable('sendmsg', variable, value)
  return encodeCommand('sendmsg', 'sendmsg', [
    ['call-command', 'execute'],
    ['execute-app-name', 'set'],
    ['execute-app-arg', `${variable}=${value}`],
  ])
}

function checkVariable(name: string, variable: string, value: string): void {
  if (!VARIABLE_NAME.test(variable)) refuse(name, 'variable name')
  if (value.length === 0 || CONTROL.test(value)) refuse(name, `value of ${variable}`)
}
