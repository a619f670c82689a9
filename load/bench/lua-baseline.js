// @ts-check
/**
 * The classic FreeSWITCH Lua TTS cache, emulated faithfully — this is the BASELINE the
 * benchmark criticises, not a pattern to copy. The script it stands for:
 *
 *     local path = "/var/cache/tts/" .. md5(text) .. ".wav"
 *     local f = io.open(path, "r")
 *     if f == nil then
 *       os.execute("espeak-ng -w " .. path .. " \"" .. text .. "\"")   -- a shell string!
 *     else
 *       f:close()
 *     end
 *     session:streamFile(path)
 *
 * What it gets wrong, and what the benchmark measures:
 * - the key is md5(text) alone (voice, rate and engine version are not in it);
 * - every caller that finds no file renders it itself: a burst of N callers is N renders
 *   and N engine processes at once;
 * - the engine writes straight to the final path, so a caller that arrives mid-render finds
 *   the file "there" and plays half a WAV; a second render truncates a file another caller
 *   is already playing;
 * - the command is a shell string built from the text.
 *
 * Each FreeSWITCH session runs its Lua script in its own thread and `os.execute` blocks only
 * that thread; here each `get` is one such session and awaits its own child.
 *
 * The shell string is the only one in this repository and is built only from texts the
 * benchmark generates (checked against SHELL_SAFE_TEXT).
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { SHELL_SAFE_TEXT } from './lib/workload.js'

export class LuaBaseline {
  /** Engine invocations (renders) so far. */
  renders = 0
  /**
   * Engine shells started and not yet seen to exit, and the most at once. An upper bound:
   * exits are seen only when the event loop is free (the /proc sampler gives the real peak).
   */
  running = 0
  peakRunning = 0
  /** Callers that found the file already there (what the script counts as a hit). */
  hits = 0
  /** Non-zero engine exits (the script ignores them; the benchmark reports them). */
  failures = /** @type {string[]} */ ([])

  /**
   * @param {{ cacheDir: string, engineBin?: string, renderTimeoutMs?: number }} options
   *   `engineBin` takes espeak-ng's `-w <path> "<text>"` arguments (espeak-ng itself, or the
   *   slow fixture engine).
   */
  constructor(options) {
    this.cacheDir = path.resolve(options.cacheDir)
    this.engineBin = options.engineBin ?? 'espeak-ng'
    this.renderTimeoutMs = options.renderTimeoutMs ?? 60_000
    mkdirSync(this.cacheDir, { recursive: true })
  }

  /**
   * One Lua session: returns the path the script would hand to `streamFile`.
   * @param {string} text
   * @returns {Promise<{ path: string, rendered: boolean }>}
   */
  async get(text) {
    if (!SHELL_SAFE_TEXT.test(text)) throw new Error('the Lua baseline only takes text the benchmark generated')
    const file = path.join(this.cacheDir, `${createHash('md5').update(text, 'utf8').digest('hex')}.wav`)
    // io.open(path, "r"): synchronous, like the Lua call.
    if (existsSync(file)) {
      this.hits++
      return { path: file, rendered: false }
    }
    this.renders++
    // In FreeSWITCH each session is an OS thread: its io.open check is not held up by other
    // sessions forking their shells. Node's spawn blocks the one thread for milliseconds, so
    // yield once before it: sessions that arrived at the same instant all check first, as
    // they would in parallel threads. Without this, the emulation would flatter the baseline.
    await new Promise((resolve) => setImmediate(resolve))
    await this.#osExecute(`${this.engineBin} -w ${file} "${text}"`)
    return { path: file, rendered: true }
  }

  /**
   * os.execute: /bin/sh -c "<command>", wait for it. Bounded by a timeout so a stuck engine
   * cannot hang the benchmark (the real script has none).
   * @param {string} command
   */
  #osExecute(command) {
    this.running++
    if (this.running > this.peakRunning) this.peakRunning = this.running
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (/** @type {string} */ chunk) => {
        stderr = (stderr + chunk).slice(-500)
      })
      const timer = setTimeout(() => child.kill('SIGKILL'), this.renderTimeoutMs)
      child.once('error', (err) => {
        clearTimeout(timer)
        this.running--
        reject(err)
      })
      child.once('close', (code, signal) => {
        clearTimeout(timer)
        this.running--
        // os.execute's status is ignored by the classic script: the path is returned anyway.
        if (code !== 0) this.failures.push(`exit ${code ?? signal}: ${stderr.trim()}`)
        resolve(undefined)
      })
    })
  }

}
