/**
 * Frames from Asterisk that ari-client cannot handle: an unparsable frame, an event type its models
 * do not know, a StasisStart whose channel has no id. Through the real ari-client (as patched at
 * install: it gives them to its 'WebSocketMessageError' listeners), against a small ARI of this
 * test's own, the adapter drops and reports them, and the frames after them are handled as usual.
 * With an unpatched ari-client each of them is an uncaught exception, which fails the test.
 */
import { AriAdapter } from '../../src/adapters/ari/ari-adapter';
import type { IncomingCall } from '../../src/ports/call-control';
import { capturedLog, fakeAri } from '../support/fake-ari';

const APP = 'frames-test';

const stasisStart = (id: string, args: string[]) =>
  JSON.stringify({ type: 'StasisStart', application: APP, args, channel: { id, name: `PJSIP/caller-${id}`, state: 'Up', caller: { name: '', number: '0612345678' } } });

describe('frames ari-client cannot handle', () => {
  /** Closed after each test, last first, whether it passed or not. */
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  test('When Asterisk sends an unparsable frame, an unknown event type and a StasisStart without a channel, then each is dropped and reported, and the next call is taken as usual', async () => {
    const ari = await fakeAri({ app: APP });
    opened.push(ari);
    const { log, lines } = capturedLog();
    const adapter = new AriAdapter({ url: ari.url, user: 'u', password: 'p', app: APP, requestTimeoutMs: 2000 }, log);
    opened.push(adapter);
    const calls: IncomingCall[] = [];
    const next = () => new Promise<IncomingCall>((r) => adapter.once('call', r));
    adapter.onCall((c) => calls.push(c));
    await adapter.start();
    await ari.connected;
    const first = next();
    ari.send(stasisStart('1.1', ['2000']));
    expect((await first).channelId).toBe('1.1');

    ari.send('{"type": "StasisStart", "args": [');
    ari.send(JSON.stringify({ type: 'NoSuchEvent', application: APP, caller: '0612345678\r\nforged: line' }));
    ari.send(JSON.stringify({ type: 'StasisStart', application: APP, args: ['2000'] }));
    ari.send(JSON.stringify({ type: 'StasisStart', application: APP, args: ['2000'], channel: { state: 'Up' } }));
    ari.send(JSON.stringify({ type: 'ChannelDtmfReceived', application: APP, digit: '1' }));
    // Frames go in order on one socket: once this call is taken, every frame before it was handled.
    const second = next();
    ari.send(stasisStart('1.2', ['2001']));
    expect((await second).channelId).toBe('1.2');

    expect(calls.map((c) => c.channelId)).toEqual(['1.1', '1.2']);
    expect(adapter.state).toBe('up');
    const dropped = lines.filter((l) => l.message === 'ARI frame dropped: ari-client could not handle it');
    // The cut frame, the unknown type, the channel without an id (ari-client reads it first).
    expect(dropped.map(({ error, bytes, type }) => ({ error, bytes: typeof bytes, type }))).toEqual([
      { error: 'SyntaxError', bytes: 'number', type: 'StasisStart' },
      { error: 'TypeError', bytes: 'number', type: 'NoSuchEvent' },
      { error: 'TypeError', bytes: 'number', type: 'StasisStart' },
    ]);
    // No channel at all: ari-client passes the event on, and the adapter ignores it.
    expect(lines.filter((l) => l.message === 'ARI StasisStart without a channel; ignored')).toHaveLength(1);
    // Nothing of a dropped frame's text reaches the log.
    expect(JSON.stringify(lines)).not.toContain('0612345678');
    expect(JSON.stringify(lines)).not.toContain('forged');
  }, 20000);
});
