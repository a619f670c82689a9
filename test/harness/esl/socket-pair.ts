import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

/** Two ends of a real loopback TCP connection: `ours` (under test) and `theirs` (the test's). */
export async function socketPair(): Promise<{ ours: Socket; theirs: Socket; close: () => Promise<void> }> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
  const ours = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' })
  await new Promise<void>((resolve) => ours.once('connect', () => resolve()))
  const theirs = await accepted
  theirs.on('error', () => undefined)
  return {
    ours,
    theirs,
    close: async () => {
      ours.destroy()
      theirs.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
