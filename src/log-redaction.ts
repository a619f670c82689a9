/**
 * Keeps secrets out of log lines, generically: whatever key, depth or shape carries them. Three
 * layers, all applied by the logger (src/logger.ts) to every line at every level:
 *
 * 1. {@link redactLogObject} (pino `formatters.log`, before serialisation): a copy of the logged
 *    object where secret-named fields are `[redacted]`, an environment map keeps its names but
 *    not its values, a command's arguments are dropped when the command authenticates (ioredis
 *    puts `AUTH` / `HELLO … AUTH user pass` arguments on its errors: `err.command.args`), and any
 *    Error — under any key, in arrays, in causes — is serialised the same way.
 * 2. the `err` serializer ({@link serializeError}): the same for the conventional `err` key.
 * 3. {@link scrubLogLine} (pino `hooks.streamWrite`, on the finished JSON line): the userinfo of
 *    every URL (`redis://user:pw@host` → `redis://user:[redacted]@host`), `password=` / `token=`
 *    query parameters, `Bearer <token>`, and every configured secret value (API token, ESL
 *    password, Redis passwords: {@link logSecretsOf}) wherever they appear — messages, bindings,
 *    stacks included.
 *
 * The logged objects are never mutated (errors are shared with the code that threw them).
 */

export const REDACTED = '[redacted]'

/** Field names whose values are secrets, compared case-insensitively with `_`/`-` removed. */
const SECRET_FIELDS = new Set([
  'password',
  'passwd',
  'pass',
  'secret',
  'token',
  'apitoken',
  'accesstoken',
  'authtoken',
  'apikey',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'fseslpassword',
  'redispassword',
  'redissentinelpassword',
  'sentinelpassword',
])

/** Fields holding an environment (name → value): names kept, values redacted. */
const ENVIRONMENT_FIELDS = new Set(['env', 'environment'])

/** Commands whose arguments carry credentials (Redis AUTH, HELLO … AUTH; ESL `auth <password>`). */
const AUTH_COMMANDS = new Set(['auth', 'hello', 'migrate', 'userauth'])
/** What such a command carries its arguments in: ioredis `args`, our EslCommand `text`. */
const AUTH_COMMAND_FIELDS = new Set(['args', 'arguments', 'line', 'text'])

function fieldKey(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '')
}

export function isSecretField(name: string): boolean {
  return SECRET_FIELDS.has(fieldKey(name))
}

const MAX_DEPTH = 8

/**
 * A copy of a log object with secrets redacted (see the file comment). Values that need no
 * change are shared, not copied; cycles and depth beyond 8 levels are cut (`[circular]`,
 * `[depth]`), as a JSON line could not hold them anyway.
 */
export function redactLogObject(obj: Record<string, unknown>): Record<string, unknown> {
  return redactValue(obj, 0, new Set()) as Record<string, unknown>
}

function redactValue(value: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof value === 'string') return value
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof Error) return serializeErrorAt(value, depth, seen)
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof Date || value instanceof RegExp) return value
  if (seen.has(value)) return '[circular]'
  if (depth >= MAX_DEPTH) return '[depth]'
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      let changed = false
      const out = value.map((item) => {
        const next = redactValue(item, depth + 1, seen)
        if (next !== item) changed = true
        return next
      })
      return changed ? out : value
    }
    if (value instanceof Map || value instanceof Set) return value
    // Anything with its own JSON form (a URL, a class with toJSON) logs as that form.
    const json = (value as { toJSON?: unknown }).toJSON
    if (typeof json === 'function') return value
    return redactFields(value as Record<string, unknown>, depth, seen)
  } finally {
    seen.delete(value)
  }
}

function redactFields(obj: Record<string, unknown>, depth: number, seen: Set<object>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined
  const set = (key: string, next: unknown): void => {
    out ??= { ...obj }
    out[key] = next
  }
  const isAuthCommand = typeof obj['name'] === 'string' && AUTH_COMMANDS.has(obj['name'].toLowerCase())
  for (const key of Object.keys(obj)) {
    const value = obj[key]
    if (value === undefined || value === null || value === '') continue
    if (isSecretField(key)) {
      if (value !== REDACTED) set(key, REDACTED)
      continue
    }
    if (isAuthCommand && AUTH_COMMAND_FIELDS.has(key)) {
      set(key, REDACTED)
      continue
    }
    if (ENVIRONMENT_FIELDS.has(key.toLowerCase()) && typeof value === 'object' && !Array.isArray(value)) {
      set(key, Object.fromEntries(Object.keys(value).map((name) => [name, REDACTED])))
      continue
    }
    const next = redactValue(value, depth + 1, seen)
    if (next !== value) set(key, next)
  }
  return out ?? obj
}

/**
 * pino's `err` serializer with the same redaction: type, message, stack, own enumerable fields
 * (ioredis `command`, execa-style `stderr`…), `cause` chains and AggregateError `errors`, each
 * redacted as {@link redactLogObject} does.
 */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return redactValue(err, 0, new Set())
  return serializeErrorAt(err, 0, new Set())
}

function serializeErrorAt(err: Error, depth: number, seen: Set<object>): unknown {
  if (seen.has(err)) return '[circular]'
  if (depth >= MAX_DEPTH) return { type: err.name, message: err.message }
  seen.add(err)
  try {
    const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message: err.message, stack: err.stack }
    for (const key of Object.keys(err)) {
      if (key === 'message' || key === 'stack' || key === 'cause' || key === 'errors') continue
      out[key] = (err as unknown as Record<string, unknown>)[key]
    }
    const redacted = redactFields(out, depth, seen)
    if (err.cause !== undefined) redacted['cause'] = err.cause instanceof Error ? serializeErrorAt(err.cause, depth + 1, seen) : redactValue(err.cause, depth + 1, seen)
    const errors = (err as { errors?: unknown }).errors
    if (Array.isArray(errors)) redacted['errors'] = errors.map((e) => (e instanceof Error ? serializeErrorAt(e, depth + 1, seen) : redactValue(e, depth + 1, seen)))
    return redacted
  } finally {
    seen.delete(err)
  }
}

// scheme://userinfo@ — userinfo up to the last `@` before the host (a raw `@` in a password is
// not valid in a URL, but redact through it anyway). Keeps the user name: `user:[redacted]@`.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{1,20}:\/\/)([^\s/?#@"'\\]*@)+/gi
const QUERY_SECRET = /([?&;](?:password|passwd|pass|pwd|token|secret|api[_-]?key|auth)=)[^&#\s"'\\]+/gi
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi

function scrubUserinfo(_match: string, scheme: string, userinfo: string): string {
  const user = userinfo.slice(0, -1).split('@')[0] ?? ''
  const colon = user.indexOf(':')
  return colon === -1 ? `${scheme}${REDACTED}@` : `${scheme}${user.slice(0, colon)}:${REDACTED}@`
}

/**
 * The finished log line with URL userinfo, secret query parameters, bearer tokens and the given
 * secret values replaced by `[redacted]` (their JSON-escaped and URL-encoded forms too). The
 * line stays valid JSON: only characters inside string values are replaced.
 */
export function scrubLogLine(line: string, secrets: readonly string[] = []): string {
  let out = line
  if (out.includes('://')) out = out.replace(URL_USERINFO, scrubUserinfo)
  if (out.includes('=')) out = out.replace(QUERY_SECRET, `$1${REDACTED}`)
  if (/bearer/i.test(out)) out = out.replace(BEARER, `$1${REDACTED}`)
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  }
  return out
}

/** Secrets shorter than this are not scrubbed by value (they would blank ordinary words). */
export const MIN_SCRUBBED_SECRET_CHARS = 4

/**
 * The secret values of a configuration, in every form a log line may carry them: each field
 * named like a secret ({@link isSecretField}, e.g. apiToken, fsEslPassword, redisPassword) and
 * the password of every URL in it (REDIS_URL, TTS_AUDIO_REDIS_URL…) — raw, URL-decoded and
 * JSON-escaped. Generic on purpose: a secret setting added later is covered without a change here.
 */
export function logSecretsOf(config: object): string[] {
  const values = new Set<string>()
  const add = (secret: string): void => {
    if (secret.length < MIN_SCRUBBED_SECRET_CHARS) return
    for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) values.add(form)
  }
  const visit = (value: unknown, key: string, depth: number): void => {
    if (typeof value === 'string') {
      if (isSecretField(key)) add(value)
      if (value.includes('://') && value.includes('@')) {
        try {
          const url = new URL(value)
          if (url.password !== '') {
            add(url.password)
            add(decodeURIComponent(url.password))
          }
        } catch {
          // Not a URL: nothing to take from it.
          return
        }
      }
      return
    }
    if (typeof value !== 'object' || value === null || depth > 4) return
    for (const [k, v] of Object.entries(value)) visit(v, Array.isArray(value) ? key : k, depth + 1)
  }
  visit(config, '', 0)
  // Longest first: a secret containing another is replaced whole.
  return [...values].sort((a, b) => b.length - a.length)
}
