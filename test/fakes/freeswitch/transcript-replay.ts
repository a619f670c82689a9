import type { Socket } from 'node:net'
import type { TranscriptEntry } from './captures.js'
import { waitFor } from '../../harness/esl/wait.js'

export interface ReplayHooks {
  /** Called before waiting for an fs->peer chunk (to trigger unsolicited sends: events, hangup). */
  readonly beforeFsChunk?: (entry: TranscriptEntry, context: { index: number; lastPeerAction: string | undefined; socket: Socket }) => void
}

/** An unsolicited goodbye: a disconnect notice not caused by our exit or FIN. */
export function isUnsolicitedNotice(entry: TranscriptEntry, lastPeerAction: string | undefined): boolean {
  return entry.text.startsWith('Content-Type: text/disconnect-notice') && lastPeerAction !== 'exit\n\n' && lastPeerAction !== 'FIN'
}

/**
 * Plays the peer's side of a captured transcript on `socket` (writes, and a FIN where the notes
 * say the peer closed), waiting after each step until the other side has sent as many bytes as
 * FreeSWITCH did. Resolves with every byte received once the socket is closed.
 */
export async function replayPeerSide(socket: Socket, entries: readonly TranscriptEntry[], hooks: ReplayHooks = {}): Promise<Buffer> {
  const received: Buffer[] = []
  let receivedBytes = 0
  let closed = false
  socket.on('data', (chunk: Buffer) => {
    received.push(chunk)
    receivedBytes += chunk.length
  })
  socket.on('error', () => undefined)
  socket.on('close', () => {
    closed = true
  })
  let expected = 0
  let lastPeerAction: string | undefined
  for (const [index, entry] of entries.entries()) {
    if (entry.dir === 'peer->fs') {
      socket.write(entry.text)
      lastPeerAction = entry.text
    } else if (entry.dir === 'fs->peer') {
      hooks.beforeFsChunk?.(entry, { index, lastPeerAction, socket })
      expected += Buffer.byteLength(entry.text)
      await waitFor(() => receivedBytes >= expected || closed, `fs->peer chunk ${index}`)
    } else if (/peer ends socket|half-closes/.test(entry.text)) {
      socket.end()
      lastPeerAction = 'FIN'
    }
  }
  if (entries.some((e) => e.dir === 'note' && /socket closed/.test(e.text))) {
    await waitFor(() => closed, 'the close')
  } else {
    socket.destroy()
  }
  return Buffer.concat(received)
}
