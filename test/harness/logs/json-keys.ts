/**
 * Keys written more than once into one object of a JSON text. JSON.parse keeps the last and hides
 * the others, so log lines are checked on their raw text (pino appends child bindings as they come:
 * two children binding `component` give `"component":"a","component":"b"`).
 */
export function duplicateJsonKeys(text: string): string[] {
  const duplicates: string[] = []
  // One entry per open container: the keys seen so far in an object, undefined in an array.
  const open: (Set<string> | undefined)[] = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      let end = i + 1
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      const keys = open.at(-1)
      if (expectKey && keys !== undefined) {
        const key = JSON.parse(text.slice(i, end + 1)) as string
        if (keys.has(key)) duplicates.push(key)
        keys.add(key)
      }
      expectKey = false
      i = end
    } else if (c === '{') {
      open.push(new Set())
      expectKey = true
    } else if (c === '[') {
      open.push(undefined)
      expectKey = false
    } else if (c === '}' || c === ']') {
      open.pop()
    } else if (c === ',') {
      expectKey = open.at(-1) !== undefined
    }
  }
  return duplicates
}

/** Each captured line with the keys it repeats (only the lines that repeat one). */
export function linesWithDuplicateKeys(lines: readonly string[]): { line: string; keys: string[] }[] {
  return lines.map((line) => ({ line, keys: duplicateJsonKeys(line) })).filter((l) => l.keys.length > 0)
}
