/**
 * The test doubles are held to the captures: played against the captured peer side, each must
 * send exactly the bytes FreeSWITCH sent (fs2peer.raw), where no substitution applies.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { parseChannelData } from '../../../src/esl/codec/channel-data.js'
import { EslFrameParser } from '../../../src/esl/codec/frame-parser.js'
import { captureBytes, firstFrameBytes, OUTBOUND, OUTBOUND_TRANSCRIPT, transcript } from './captures.js'
import { FakeEventSocket } from './event-socket.js'
import { startCall, type FakeFreeSwitchCall } from './call.js'
import { channelDataFrame } from './frames.js'
import { fsUrlEncode } from './url-encode.js'
import { isUnsolicitedNotice, replayPeerSide } from './transcript-replay.js'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function templateOf(scenario: string): { uuid: string; full: boolean; async: boolean; text: string | undefined; appData: string } {
  const parser = new EslFrameParser({ maxHeaderBytes: 1 << 20, maxBodyBytes: 1 << 20 })
  const [frame] = parser.push(firstFrameBytes(OUTBOUND(scenario))).frames
  if (frame === undefined) throw new Error('no CHANNEL_DATA')
  const parsed = parseChannelData(frame)
  if (!parsed.ok || parsed.data.uuid === undefined) throw new Error('bad CHANNEL_DATA')
  return {
    uuid: parsed.data.uuid,
    full: parsed.data.control === 'full',
    async: parsed.data.socketMode === 'async',
    text: parsed.data.variable('tts_text') ?? undefined,
    appData: parsed.data.variable('current_application_data') ?? '',
  }
}

/** Runs the double against a server that plays the captured peer (the service side). */
async function replayOutbound(scenario: string): Promise<Buffer> {
  const t = templateOf(scenario)
  const current: { call?: FakeFreeSwitchCall } = {}
  let peer: Promise<Buffer> | undefined
  const server = createServer((socket: Socket) => {
    peer = replayPeerSide(socket, transcript(OUTBOUND_TRANSCRIPT(scenario)), {
      // A notice FreeSWITCH sent on its own: the caller hung up (uuid_kill or sched_hangup).
      beforeFsChunk: (entry, { lastPeerAction }) => {
        if (isUnsolicitedNotice(entry, lastPeerAction)) current.call?.hangup()
      },
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const call = startCall({
    port: (server.address() as AddressInfo).port,
    uuid: t.uuid,
    full: t.full,
    async: t.async,
    variables: t.text === undefined ? [] : [['tts_text', t.text]],
    applicationData: t.appData,
    template: scenario,
  })
  current.call = call
  await call.result
  if (peer === undefined) throw new Error('no connection')
  return peer
}

describe('outbound double (a FreeSWITCH channel calling socket())', () => {
  it('builds the captured CHANNEL_DATA byte for byte when the captured values are substituted back', () => {
    for (const scenario of ['q3-phrase-full-api_setvar', 'q3-phrase-nofull-sendmsg_set', 'q3-phrase-asyncfull-api_setvar']) {
      const t = templateOf(scenario)
      const built = channelDataFrame(
        {
          uuid: t.uuid,
          variables: [['tts_text', t.text ?? '']],
          control: t.full ? 'full' : 'single-channel',
          socketMode: t.async ? 'async' : 'static',
          applicationData: t.appData,
        },
        scenario,
      )
      expect(built.equals(firstFrameBytes(OUTBOUND(scenario)))).toBe(true)
    }
  })

  it('URL-encodes substituted variables as FreeSWITCH does', () => {
    expect(fsUrlEncode('Hello World')).toBe('Hello%20World')
    expect(fsUrlEncode('+OK\n')).toBe('%2BOK%0A')
    expect(fsUrlEncode('tts_file=/tmp/y.wav')).toBe('tts_file%3D/tmp/y.wav')
    expect(fsUrlEncode('Sun, 22 Nov')).toBe('Sun,%2022%20Nov')
    expect(fsUrlEncode('Grüße 100%')).toBe('Gr%C3%BC%C3%9Fe%20100%25')
    expect(fsUrlEncode('already %2B encoded')).toBe('already%20%2B%20encoded')
  })

  it.each([
    'q3-phrase-full-api_setvar',
    'q3-phrase-syncfull-api_setvar',
    'q3-phrase-asyncfull-api_setvar',
    'q3-phrase-asyncfull-resumecmd-api_setvar',
    'q3-phrase-nofull-api_setvar',
    'q3-phrase-nofull-sendmsg_set',
    'q3-phrase-syncfull-sendmsg_set',
    'q3-phrase-asyncfull-sendmsg_set',
    'q3-phrase-syncfull-slow3s',
    'q3-dialplan-syncfull-api_setvar',
    'q3-dialplan-nofull-sendmsg_set',
    'q3-phrase-syncfull-close_no_exit',
    'q3-phrase-syncfull-caller_hangs_up_during_synthesis',
    'out-hangup-plain-noevents',
  ])('sends exactly the captured bytes of %s', async (scenario) => {
    const sent = await replayOutbound(scenario)
    expect(sent.toString('utf8')).toBe(captureBytes(OUTBOUND(scenario)).toString('utf8'))
  })
})

describe('inbound double (mod_event_socket)', () => {
  async function replayInbound(capture: string, react: (fs: FakeEventSocket, text: string) => void = () => undefined): Promise<Buffer> {
    const fs = new FakeEventSocket()
    const port = await fs.start()
    cleanups.push(() => fs.stop())
    const socket = connect({ port, host: '127.0.0.1' })
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    return replayPeerSide(socket, transcript(capture.replace('.fs2peer.raw', '.transcript.jsonl')), {
      beforeFsChunk: (entry, { lastPeerAction, socket: peer }) => {
        // in-16: the notice answers the peer's FIN (sent right after +OK accepted).
        if (isUnsolicitedNotice(entry, lastPeerAction)) peer.end()
        react(fs, entry.text)
      },
    })
  }

  it.each([
    'inbound/in-01-banner-auth-api_status-exit.fs2peer.raw',
    'inbound/in-02-auth-bad-password.fs2peer.raw',
    'inbound/in-03-commands-before-auth.fs2peer.raw',
    'inbound/in-16-peer-closes-without-exit.fs2peer.raw',
  ])('sends exactly the captured bytes of %s', async (capture) => {
    const sent = await replayInbound(capture)
    expect(sent.toString('utf8')).toBe(captureBytes(capture).toString('utf8'))
  })

  it('sends the captured CUSTOM event of in-05 byte for byte', async () => {
    const capture = 'inbound/in-05-event-plain-custom-subclass.fs2peer.raw'
    const sent = await replayInbound(capture, (fs, text) => {
      if (text.includes('Event-Name: CUSTOM')) fs.fireCustom('tts_cache::request', [['tts_text', 'Hello']])
    })
    expect(sent.toString('utf8')).toBe(captureBytes(capture).toString('utf8'))
  })

  it('sends the captured HEARTBEAT of in-09 byte for byte', async () => {
    const capture = 'inbound/in-09-heartbeat.fs2peer.raw'
    const sent = await replayInbound(capture, (fs, text) => {
      if (text.includes('Event-Name: HEARTBEAT')) fs.sendHeartbeat()
    })
    expect(sent.toString('utf8')).toBe(captureBytes(capture).toString('utf8'))
  })

  it('subscribes the way FreeSWITCH parses `event` (every word after CUSTOM is a subclass)', async () => {
    const fs = new FakeEventSocket()
    const port = await fs.start()
    cleanups.push(() => fs.stop())
    const socket = connect({ port, host: '127.0.0.1' })
    cleanups.push(() => {
      socket.destroy()
    })
    const got: string[] = []
    socket.on('data', (b: Buffer) => got.push(b.toString()))
    socket.write('auth ClueCon\n\nevent plain CUSTOM tts_cache::prewarm HEARTBEAT\n\nevent plain NOSUCHEVENT\n\n')
    const { waitFor } = await import('../../harness/esl/wait.js')
    await waitFor(() => got.join('').includes('-ERR no keywords supplied'), 'replies')
    expect(got.join('')).toContain('+OK event listener enabled plain')
    expect(fs.subscribers('tts_cache::prewarm')).toBe(1)
    expect(fs.subscribers('HEARTBEAT')).toBe(1) // HEARTBEAT became a subclass name here
    expect(fs.sendHeartbeat()).toBe(0)
  })
})
