/**
 * ari-client 2.2.0 and its swagger-client 2.0.26 as installed (node_modules), which must carry the
 * repository's patches (patches/*.patch, applied by patch-package in postinstall). Each test here
 * fails on the unpatched packages:
 * - a Swagger load that fails rejects the connect with an Error, instead of the loader throwing the
 *   failure from an HTTP callback (an uncaught exception: the process exits); nothing is printed
 *   (the unpatched loader printed a deprecation notice on stdout at every load);
 * - a websocket message that cannot be handled goes to the client's 'WebSocketMessageError'
 *   listeners (unpatched: thrown from the websocket's data handler), and to nobody else;
 * - the objects of an event (a Channel, a Playback...) inherit their operations from a prototype of
 *   their type, made once (unpatched: every object got a closure of its own per operation); the one
 *   function, called on each object, names that object to Asterisk.
 * Parts of ari-client's public API that no patch changes are checked here too: the heartbeat's ping
 * and pong, and the listeners of an event's objects (on, once).
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import ari from 'ari-client';
import { missingPatches, REQUIRED_PATCHES } from '../../src/adapters/ari/client-patches';
import { apiDocs, fakeAri, type FakeAri } from '../support/fake-ari';

/** ari-client's websocket, made by start() (one per connection and reconnection): a socket of this test's. */
class MockSocket extends EventEmitter {
  static made: MockSocket[] = [];
  readonly pings: number[] = [];
  closed = false;
  constructor(readonly url: string) {
    super();
    MockSocket.made.push(this);
  }
  ping(): void {
    this.pings.push(Date.now());
  }
  /** As ws does: 'close' comes later (ari-client marks the close as its own after calling this). */
  close(): void {
    this.closed = true;
    setImmediate(() => this.emit('close'));
  }
}

jest.mock('ws', () => {
  // The server side stays real (fake-ari.ts serves with it); what ari-client opens is a MockSocket.
  const actual = jest.requireActual<{ Server: unknown }>('ws');
  return Object.assign(function WebSocket(url: string) {
    return new MockSocket(url);
  }, { Server: actual.Server });
});

const ARI_CLIENT = require.resolve('ari-client');

/** What a fresh Node process sees when it loads the installed ari-client and connects to `url`. */
function connectInChild(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    const ari = require(${JSON.stringify(ARI_CLIENT)});
    const done = (r) => {
      process.stderr.write(JSON.stringify({ ...r, globalLog: typeof globalThis.log }));
      // A failure thrown late would still end the process (exit 1) within this time.
      setTimeout(() => process.exit(0), 200);
    };
    ari.connect(${JSON.stringify(url)}, 'u', 'p').then(
      () => done({ resolved: true }),
      (e) => done({ rejected: e instanceof Error ? 'Error' : typeof e, message: String(e && e.message) }),
    );`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script], { timeout: 15000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

type Answer = (path: string, req: IncomingMessage, res: ServerResponse) => boolean;
const at =
  (where: string, respond: (res: ServerResponse, req: IncomingMessage) => void): Answer =>
  (path, req, res) => {
    if (path !== where) return false;
    respond(res, req);
    return true;
  };
const LISTING = '/ari/api-docs/resources.json';
const EVENTS = '/ari/api-docs/events.json';
const status = (code: number, body = '{}', type = 'application/json') => (res: ServerResponse) => {
  res.writeHead(code, { 'content-type': type });
  res.end(body);
};

describe('the installed ari-client', () => {
  test('When it is loaded, then it lists every patch the adapter needs', () => {
    expect(missingPatches(ari)).toEqual([]);
    // An ari-client without them is refused.
    expect(missingPatches({})).toEqual([...REQUIRED_PATCHES]);
  });
});

describe('the Swagger load of the installed ari-client, in a process of its own', () => {
  const failures: [string, Answer, RegExp][] = [
    ['the password is refused (401)', at(LISTING, status(401, '{"message":"Authentication required"}')), /^401 : Unauthorized http:\/\/127\.0\.0\.1:\d+\/ari\/api-docs\/resources\.json$/],
    ['the listing is an error page (500)', at(LISTING, status(500, 'oops', 'text/plain')), /^500 : Internal Server Error/],
    ['the listing is not JSON', at(LISTING, status(200, '<html>proxy</html>', 'text/html')), /^Can't read swagger JSON from .*resources\.json \(/],
    ['the listing is JSON cut short', at(LISTING, status(200, '{"apis": [')), /^Can't read swagger JSON from .*resources\.json \(/],
    ['an API declaration is missing (404)', at(EVENTS, status(404)), /^Unable to read api 'events' from path .*events\.json \(server returned Not Found\)$/],
    ['an API declaration is not JSON', at(EVENTS, status(200, 'nope', 'text/plain')), /^Unable to read api 'events' from path .*events\.json \(/],
    ['the connection drops while an API declaration is read', at(EVENTS, (_res, req) => req.socket.destroy()), /^Unable to read api 'events' from path .*events\.json \(socket hang up\)$/],
  ];
  let answer: Answer | null = null;
  let server: FakeAri;
  beforeAll(async () => {
    server = await fakeAri({ answer: (path, req, res) => answer?.(path, req, res) ?? false });
  });
  afterAll(() => server.close());

  test.each(failures)('When %s, then the connect rejects with an Error that says so, and nothing is thrown or printed', async (_what, respond, message) => {
    answer = respond;
    const r = await connectInChild(server.url);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: '' });
    expect(JSON.parse(r.stderr)).toEqual({ rejected: 'Error', message: expect.stringMatching(message), globalLog: 'undefined' });
  }, 20000);

  test('When an operation has no method, then the connect rejects with the Swagger error', async () => {
    const base = `${server.url}/ari`;
    const events = apiDocs(base)[EVENTS] as { apis: { operations: Record<string, unknown>[] }[] };
    delete events.apis[0]?.operations[0]?.httpMethod;
    answer = at(EVENTS, status(200, JSON.stringify(events)));
    const r = await connectInChild(server.url);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: '' });
    expect(JSON.parse(r.stderr)).toMatchObject({ rejected: 'Error', message: 'SwaggerOperation eventWebsocket is missing method.' });
  }, 20000);

  test.each([
    ['the api-docs answer', null],
    ['the listing is reached through a redirect', at(LISTING, (res) => res.writeHead(302, { location: `${server.url}/ari/api-docs/listing.json` }).end())],
  ] as [string, Answer | null][])('When %s, then the connect resolves, and nothing is printed (no deprecation notice) nor left in a global', async (_what, respond) => {
    const moved = at('/ari/api-docs/listing.json', status(200, JSON.stringify(apiDocs(`${server.url}/ari`)[LISTING])));
    answer = respond ? (path, req, res) => moved(path, req, res) || respond(path, req, res) : null;
    const r = await connectInChild(server.url);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: '' });
    expect(JSON.parse(r.stderr)).toEqual({ resolved: true, globalLog: 'undefined' });
  }, 20000);
});

describe('the websocket messages of the installed ari-client', () => {
  let server: FakeAri;
  let client: ari.Client;
  let answer: Answer | null = null;
  beforeAll(async () => {
    server = await fakeAri({ answer: (path, req, res) => answer?.(path, req, res) ?? false });
    client = await ari.connect(server.url, 'u', 'p');
  });
  afterAll(() => server.close());
  beforeEach(() => {
    answer = null;
    MockSocket.made = [];
    (client as unknown as EventEmitter).removeAllListeners();
  });

  /** start() on a MockSocket: the socket, open. */
  async function started(): Promise<MockSocket> {
    const up = client.start('patch-test');
    const ws = MockSocket.made.at(-1) as MockSocket;
    ws.emit('open');
    await up;
    return ws;
  }
  /** client.stop(), until ari-client has seen its websocket close (or the next start would think it closed on purpose). */
  async function stop(ws: MockSocket): Promise<void> {
    const closed = new Promise((r) => ws.once('close', r));
    client.stop();
    await closed;
  }
  /** What ari-client's message handler does with a frame: the value it throws, if any. */
  const handle = (ws: MockSocket, frame: string): unknown => {
    try {
      ws.emit('message', frame);
      return undefined;
    } catch (e) {
      return e;
    }
  };
  const stasisStart = (channel: Record<string, unknown>) => JSON.stringify({ type: 'StasisStart', application: 'patch-test', args: [], channel });
  const dtmf = (channelId: string, digit: string) => JSON.stringify({ type: 'ChannelDtmfReceived', application: 'patch-test', digit, channel: { id: channelId, name: 'PJSIP/d', state: 'Up' } });
  /** The channels of StasisStart frames, as ari-client gives them to a listener. */
  function channelsOf(ws: MockSocket, frames: string[]): ari.Channel[] {
    const channels: ari.Channel[] = [];
    const keep = (_e: unknown, channel: ari.Channel) => channels.push(channel);
    const events = client as unknown as EventEmitter;
    events.on('StasisStart', keep);
    for (const frame of frames) expect(handle(ws, frame)).toBeUndefined();
    events.off('StasisStart', keep);
    return channels;
  }

  test('When a message cannot be handled and the client listens for WebSocketMessageError, then the listener is given the error and the message, and the next message is handled as usual', async () => {
    const errors: [unknown, unknown][] = [];
    const events = client as unknown as EventEmitter;
    events.on('WebSocketMessageError', (e: unknown, msg: unknown) => errors.push([e, msg]));
    const started_: string[] = [];
    events.on('StasisStart', (event: { channel: { id: string } }) => started_.push(event.channel.id));
    const ws = await started();
    const bad = ['{"type": "StasisStart", "args": [', JSON.stringify({ type: 'NoSuchEvent' }), stasisStart({ state: 'Up' })];
    for (const frame of bad) expect(handle(ws, frame)).toBeUndefined();
    expect(handle(ws, stasisStart({ id: '1.1', name: 'PJSIP/a', state: 'Up' }))).toBeUndefined();
    expect(errors.map(([e, msg]) => [(e as Error).name, msg])).toEqual([
      ['SyntaxError', bad[0]],
      ['TypeError', bad[1]],
      ['TypeError', bad[2]],
    ]);
    expect(started_).toEqual(['1.1']);
    await stop(ws);
  });

  test('When a listener of an event throws, then that goes to WebSocketMessageError too', async () => {
    const errors: unknown[] = [];
    const events = client as unknown as EventEmitter;
    events.on('WebSocketMessageError', (e: unknown) => errors.push(e));
    events.on('StasisStart', () => {
      throw new RangeError('listener bug');
    });
    const ws = await started();
    expect(handle(ws, stasisStart({ id: '1.2', name: 'PJSIP/b', state: 'Up' }))).toBeUndefined();
    expect(errors).toEqual([new RangeError('listener bug')]);
    await stop(ws);
  });

  test('When nothing listens for WebSocketMessageError, then a message that cannot be handled is thrown as before', async () => {
    const ws = await started();
    expect(handle(ws, 'not json')).toBeInstanceOf(SyntaxError);
    await stop(ws);
  });

  test('When ari-client reconnects, then the new websocket\'s messages are handled the same way', async () => {
    const errors: unknown[] = [];
    const events = client as unknown as EventEmitter;
    events.on('WebSocketMessageError', (e: unknown) => errors.push(e));
    const reconnecting = new Promise((r) => events.once('WebSocketReconnecting', r));
    const first = await started();
    first.emit('close');
    await reconnecting;
    // ari-client's backoff starts at 100 ms.
    await new Promise<void>((r) => {
      const t = setInterval(() => MockSocket.made.length === 2 && (clearInterval(t), r()), 20);
    });
    const second = MockSocket.made[1] as MockSocket;
    second.emit('open');
    expect(handle(second, 'not json')).toBeUndefined();
    expect(errors).toHaveLength(1);
    await stop(second);
  });

  test('When events carry channels, then the channels share their operations, made once, and have as own properties the values of the event', async () => {
    const ws = await started();
    const values = { id: '3.1', name: 'PJSIP/a', state: 'Up', caller: { name: '', number: '0612345678' } };
    const [a, b, c] = channelsOf(ws, [stasisStart(values), stasisStart({ id: '3.2', name: 'PJSIP/b', state: 'Ring' }), stasisStart({ id: '3.3', name: 'PJSIP/c', state: 'Up', get: 'a value' })]) as [ari.Channel, ari.Channel, ari.Channel];
    expect(typeof a.get).toBe('function');
    expect(b.get).toBe(a.get);
    expect(Object.prototype.hasOwnProperty.call(a, 'get')).toBe(false);
    expect(Object.keys(a).sort()).toEqual(['_client', ...Object.keys(values)].sort());
    expect({ id: a.id, name: a.name, state: a.state, caller: a.caller }).toEqual(values);
    // A value named like an operation does not hide it (as when operations were set on each object).
    expect(c.get).toBe(a.get);
    // An object made by the client inherits the same operations, with an id of its own.
    const made = client.Channel();
    expect(made.get).toBe(a.get);
    expect(made.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(client.Channel('chosen').id).toBe('chosen');
    await stop(ws);
  });

  test('When an operation is called on a channel, then Asterisk is asked about that channel (its id given), as a promise or with a callback, and answers with a Channel', async () => {
    const asked: string[] = [];
    answer = (path, req, res) => {
      const m = /^\/ari\/channels\/([^/]+)$/.exec(path);
      if (!m || req.method !== 'GET') return false;
      const id = decodeURIComponent(m[1] as string);
      asked.push(id);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, name: `PJSIP/${id}`, state: 'Up' }));
      return true;
    };
    const ws = await started();
    const [a, b] = channelsOf(ws, [stasisStart({ id: '4.1', name: 'PJSIP/a', state: 'Up' }), stasisStart({ id: '4.2', name: 'PJSIP/b', state: 'Up' })]) as [ari.Channel, ari.Channel];
    expect(b.get).toBe(a.get);
    const got = await a.get();
    const viaCallback = await new Promise<ari.Channel>((resolve, reject) => b.get((err, ch) => (err ? reject(err) : resolve(ch))));
    const made = client.Channel();
    await made.get();
    expect(asked).toEqual(['4.1', '4.2', made.id]);
    expect([got.id, got.name, viaCallback.id]).toEqual(['4.1', 'PJSIP/4.1', '4.2']);
    expect(got.get).toBe(a.get);
    await stop(ws);
  });

  test('When a channel has listeners of its own, then they are given the events of that channel only (once: the first), until removed', async () => {
    const ws = await started();
    const [a] = channelsOf(ws, [stasisStart({ id: '5.1', name: 'PJSIP/a', state: 'Up' })]) as [ari.Channel];
    const heard: string[] = [];
    const once: string[] = [];
    a.on('ChannelDtmfReceived', (event, channel) => heard.push(`${channel.id}:${event.digit}`));
    a.once('ChannelDtmfReceived', (event) => once.push(event.digit));
    for (const frame of [dtmf('5.1', '1'), dtmf('5.2', '2'), dtmf('5.1', '3')]) expect(handle(ws, frame)).toBeUndefined();
    expect(heard).toEqual(['5.1:1', '5.1:3']);
    expect(once).toEqual(['1']);
    a.removeAllListeners('ChannelDtmfReceived');
    expect(handle(ws, dtmf('5.1', '4'))).toBeUndefined();
    expect(heard).toHaveLength(2);
    await stop(ws);
  });

  test('When the client is pinged, then its websocket is, and a pong of the websocket is the client\'s pong; once stopped, a ping does nothing', async () => {
    let pongs = 0;
    (client as unknown as EventEmitter).on('pong', () => (pongs += 1));
    const ws = await started();
    client.ping();
    expect(ws.pings).toHaveLength(1);
    ws.emit('pong');
    expect(pongs).toBe(1);
    const closed = stop(ws);
    expect(ws.closed).toBe(true);
    expect(() => client.ping()).not.toThrow();
    expect(ws.pings).toHaveLength(1);
    await closed;
  });
});
