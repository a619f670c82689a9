import { editDistance } from '../core/phrase-list.js'

/** The closest of `candidates` to `name` (case-insensitive), if it is close enough to be a typo. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = name.toUpperCase()
  let best: { name: string; distance: number } | undefined
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate.toUpperCase())
    if (best === undefined || distance < best.distance) best = { name: candidate, distance }
  }
  const allowed = Math.max(2, Math.floor(wanted.length / 4))
  return best !== undefined && best.distance <= allowed ? best.name : undefined
}
