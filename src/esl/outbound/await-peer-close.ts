import type { EslConnection } from '../connection/connection.js'
import type { Scheduler } from '../connection/scheduler.js'

/**
 * After `exit` FreeSWITCH sends +OK bye, a disconnect-notice and FIN: waits for the peer to
 * close, at most `closeTimeoutMs` (never forever), then closes our side.
 */
export async function awaitPeerClose(connection: EslConnection, scheduler: Scheduler, closeTimeoutMs: number): Promise<void> {
  if (!connection.isOpen) return
  await new Promise<void>((resolve) => {
    const cancel = scheduler.schedule(closeTimeoutMs, resolve)
    void connection.closed.then(() => {
      cancel()
      resolve()
    })
  })
  connection.destroy()
}
