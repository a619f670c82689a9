/**
 * Where the real-FreeSWITCH suite finds a FreeSWITCH, in this order (issue 20 item 8):
 *
 * 1. `FREESWITCH_TEST_DIR`: a directory with `fs.sh` (a copy of the shared test build) or with
 *    `bin/freeswitch` (an install prefix such as /usr/local/freeswitch). Set but unusable is an
 *    error, never a silent fall-through: the contributor asked for that one.
 * 2. `../shared/freeswitch/fs.sh` beside the checkout (the team's prebuilt 1.10.12).
 * 3. A `freeswitch` binary on PATH (Debian/SignalWire packages put it in /usr/bin and the
 *    modules in /usr/lib/freeswitch/mod; `FREESWITCH_MOD_DIR` names another module directory).
 *
 * An installed binary is started by launch.ts with the suite's own minimal configuration
 * (test/harness/freeswitch/conf), exactly as fs.sh starts the shared build. A container image
 * is not a source yet: this project has had no Docker engine to develop and prove that path on
 * (docs in CONTRIBUTING.md); when nothing is found the reasons for every source are returned so
 * the suite can say why it skipped (or fail, on a strict run).
 */
import { accessSync, constants, existsSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'

export type FreeSwitchSource =
  | { readonly kind: 'fs.sh'; readonly script: string; readonly why: string }
  | { readonly kind: 'installed'; readonly binary: string; readonly modDir: string; readonly why: string }
  | { readonly kind: 'none'; readonly reasons: readonly string[] }

/** What the locator may look at: the environment and the files (tests pass their own). */
export interface LocateProbe {
  readonly env: Readonly<Record<string, string | undefined>>
  /** The checkout's root (`../shared/freeswitch` is resolved from it). */
  readonly root: string
  readonly isFile?: (path: string) => boolean
  readonly isExecutable?: (path: string) => boolean
}

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Module directories of the usual installs, after `FREESWITCH_MOD_DIR`. */
function moduleDirCandidates(binary: string, env: LocateProbe['env']): string[] {
  const prefix = dirname(dirname(binary))
  return [
    env['FREESWITCH_MOD_DIR'],
    join(prefix, 'mod'),
    join(prefix, 'lib/freeswitch/mod'),
    '/usr/lib/freeswitch/mod',
    '/usr/local/freeswitch/mod',
  ].filter((dir): dir is string => dir !== undefined && dir !== '')
}

function installedAt(binary: string, probe: Required<LocateProbe>, why: string): FreeSwitchSource | string {
  const modDir = moduleDirCandidates(binary, probe.env).find((dir) => probe.isFile(join(dir, 'mod_event_socket.so')))
  if (modDir === undefined) {
    return `${binary}: no module directory with mod_event_socket.so (tried ${moduleDirCandidates(binary, probe.env).join(', ')}; set FREESWITCH_MOD_DIR)`
  }
  return { kind: 'installed', binary, modDir, why }
}

/** The first usable FreeSWITCH, or every reason none was. Pure apart from the probe's file checks. */
export function locateFreeSwitch(options: LocateProbe): FreeSwitchSource {
  const probe: Required<LocateProbe> = {
    isFile: existsSync,
    isExecutable: executable,
    ...options,
  }
  const reasons: string[] = []
  const asked = probe.env['FREESWITCH_TEST_DIR']
  if (asked !== undefined && asked !== '') {
    const dir = resolve(asked)
    if (probe.isFile(join(dir, 'fs.sh'))) return { kind: 'fs.sh', script: join(dir, 'fs.sh'), why: `FREESWITCH_TEST_DIR=${asked} (fs.sh)` }
    const binary = join(dir, 'bin/freeswitch')
    if (probe.isExecutable(binary)) {
      const found = installedAt(binary, probe, `FREESWITCH_TEST_DIR=${asked} (bin/freeswitch)`)
      if (typeof found !== 'string') return found
      reasons.push(found)
    } else {
      reasons.push(`FREESWITCH_TEST_DIR=${asked} has neither fs.sh nor an executable bin/freeswitch`)
    }
    // Asked for and unusable: say so instead of quietly testing another FreeSWITCH.
    return { kind: 'none', reasons }
  }
  reasons.push('FREESWITCH_TEST_DIR is not set')

  const shared = join(probe.root, '../shared/freeswitch/fs.sh')
  if (probe.isFile(shared)) return { kind: 'fs.sh', script: shared, why: `the shared test build beside the checkout (${shared})` }
  reasons.push(`no ${shared}`)

  const dirs = (probe.env['PATH'] ?? '').split(delimiter).filter((dir) => dir !== '')
  const onPath = dirs.map((dir) => join(dir, 'freeswitch')).find((candidate) => probe.isExecutable(candidate))
  if (onPath === undefined) {
    reasons.push('no freeswitch binary on PATH')
  } else {
    const found = installedAt(onPath, probe, `the freeswitch binary on PATH (${onPath})`)
    if (typeof found !== 'string') return found
    reasons.push(found)
  }
  reasons.push('container images: not supported yet (see CONTRIBUTING.md, "The real-FreeSWITCH suite")')
  return { kind: 'none', reasons }
}

/** One line for the suite's stderr: which FreeSWITCH it used and why, or why it has none. */
export function describeSource(source: FreeSwitchSource): string {
  if (source.kind === 'none') return `no FreeSWITCH found: ${source.reasons.join('; ')}`
  if (source.kind === 'fs.sh') return `FreeSWITCH from ${source.why}`
  return `FreeSWITCH from ${source.why}, modules in ${source.modDir}`
}
