/**
 * Frames from Asterisk that ari-client cannot handle (its processMessage has no try/catch): an
 * unparsable frame, an event type its models do not know, a StasisStart without a channel. Through
 * the real ari-client, against a small ARI of this test's own (its Swagger 1.1 listing, the events
 * websocket, the event filter), the adapter drops and reports them, and the frames after them are
 * handled as usual. Without the guard each of them is an uncaught exception, which fails the test.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
// ws comes with ari-client (which opens the events websocket with it); no types are installed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WebSocket = require('ws') as { Server: new (o: { server: Server; path?: string }) => EventEmitter & { close(): void } };
import { AriAdapter, guardFrames, type DroppedFrame } from '../../src/adapters/ari/ari-adapter';
import { createLogger } from '../../src/observability/logger';
import type { IncomingCall } from '../../src/ports/call-control';

const APP = 'frames-test';

/** The parts of Asterisk's api-docs that ari-client reads: the listing and the events API's models. */
function apiDocs(base: string): Record<string, unknown> {
  const prop = (type: string, required = true) => ({ type, required });
  return {
    '/ari/api-docs/resources.json': {
      apiVersion: '10.0.0',
      swaggerVersion: '1.1',
      basePath: base,
      apis: [
        { path: '/api-docs/events.{format}', description: 'WebSocket resource' },
        { path: '/api-docs/channels.{format}', description: 'Channel resources' },
      ],
    },
    // ari-client gives each Channel object of an event the operations of this API.
    '/ari/api-docs/channels.json': {
      apiVersion: '10.0.0',
      swaggerVersion: '1.1',
      basePath: base,
      resourcePath: '/api-docs/channels.{format}',
      apis: [
        {
          path: '/channels/{channelId}',
          description: 'Active channel',
          operations: [
            {
              httpMethod: 'GET',
              summary: 'Channel details.',
              nickname: 'get',
              responseClass: 'Channel',
              parameters: [{ name: 'channelId', required: true, allowMultiple: false, dataType: 'string', paramType: 'path' }],
            },
          ],
        },
      ],
      models: {},
    },
    '/ari/api-docs/events.json': {
      apiVersion: '10.0.0',
      swaggerVersion: '1.1',
      basePath: base,
      resourcePath: '/api-docs/events.{format}',
      apis: [
        {
          path: '/events',
          description: 'Events from Asterisk to applications',
          operations: [
            {
              httpMethod: 'GET',
              upgrade: 'websocket',
              websocketProtocol: 'ari',
              summary: 'WebSocket connection for events.',
              nickname: 'eventWebsocket',
              responseClass: 'Message',
              parameters: [{ name: 'app', required: true, allowMultiple: true, dataType: 'string', paramType: 'query' }],
            },
          ],
        },
      ],
      models: {
        Message: { id: 'Message', properties: { type: prop('string') } },
        CallerID: { id: 'CallerID', properties: { name: prop('string'), number: prop('string') } },
        Channel: { id: 'Channel', properties: { id: prop('string'), name: prop('string'), state: prop('string'), caller: prop('CallerID') } },
        StasisStart: { id: 'StasisStart', properties: { args: prop('List[string]'), channel: prop('Channel'), replace_channel: prop('Channel', false) } },
        StasisEnd: { id: 'StasisEnd', properties: { channel: prop('Channel') } },
        ChannelDtmfReceived: { id: 'ChannelDtmfReceived', properties: { digit: prop('string'), channel: prop('Channel') } },
      },
    },
  };
}

interface FakeAri {
  url: string;
  /** Sends a text frame to every events websocket. */
  send(frame: string): void;
  connected: Promise<void>;
  close(): Promise<void>;
}

async function fakeAri(): Promise<FakeAri> {
  let docs: Record<string, unknown> = {};
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] as string;
    req.resume();
    if (req.method === 'GET' && docs[path]) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(docs[path]));
    }
    if (req.method === 'PUT' && path === `/ari/applications/${APP}/eventFilter`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{}');
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"message":"not here"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  docs = apiDocs(`${url}/ari`);
  const wss = new WebSocket.Server({ server, path: '/ari/events' });
  const sockets: { send(s: string): void; terminate(): void }[] = [];
  const connected = new Promise<void>((r) =>
    wss.on('connection', (ws: { send(s: string): void; terminate(): void }) => {
      sockets.push(ws);
      r();
    }),
  );
  return {
    url,
    send: (frame) => sockets.forEach((s) => s.send(frame)),
    connected,
    close: async () => {
      sockets.forEach((s) => s.terminate());
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

function capturedLog() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  stream.on('data', (c: Buffer) => {
    const parts = (buf + c.toString('utf8')).split('\n');
    buf = parts.pop() ?? '';
    for (const p of parts) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  return { log: createLogger({ level: 'debug', format: 'json' }, stream), lines };
}

const stasisStart = (id: string, args: string[]) =>
  JSON.stringify({ type: 'StasisStart', application: APP, args, channel: { id, name: `PJSIP/caller-${id}`, state: 'Up', caller: { name: '', number: '0612345678' } } });

describe('frames ari-client cannot handle', () => {
  test('When Asterisk sends an unparsable frame, an unknown event type and a StasisStart without a channel, then each is dropped and reported, and the next call is taken as usual', async () => {
    const ari = await fakeAri();
    const { log, lines } = capturedLog();
    const adapter = new AriAdapter({ url: ari.url, user: 'u', password: 'p', app: APP, requestTimeoutMs: 2000 }, log);
    const calls: IncomingCall[] = [];
    const next = () => new Promise<IncomingCall>((r) => adapter.once('call', r));
    adapter.onCall((c) => calls.push(c));
    try {
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
    } finally {
      adapter.close();
      await ari.close();
    }
  }, 20000);
});

describe('guardFrames', () => {
  test('When ari-client opens a new websocket (a reconnect), then its message listener is guarded too, and other listeners are left as they are', () => {
    const dropped: DroppedFrame[] = [];
    const client: { _ws?: EventEmitter } = {};
    guardFrames(client, (d) => dropped.push(d));
    const handled: string[] = [];
    const processMessage = (msg: string) => {
      const event = JSON.parse(msg) as { type: string };
      if (event.type !== 'Known') throw new TypeError("Cannot read properties of undefined (reading 'properties')");
      handled.push(event.type);
    };
    for (let i = 0; i < 2; i++) {
      client._ws = new EventEmitter();
      client._ws.on('message', processMessage);
      client._ws.on('close', () => handled.push('close'));
      expect(() => client._ws?.emit('message', 'not json')).not.toThrow();
      expect(() => client._ws?.emit('message', '{"type":"Other"}')).not.toThrow();
      client._ws.emit('message', '{"type":"Known"}');
      // A listener that is not the frame handler still throws as it would.
      client._ws.on('error', () => {
        throw new Error('not guarded');
      });
      expect(() => client._ws?.emit('error', new Error('x'))).toThrow('not guarded');
      client._ws.emit('close');
    }
    expect(handled).toEqual(['Known', 'close', 'Known', 'close']);
    expect(dropped).toEqual([
      { error: 'SyntaxError', bytes: 8 },
      { error: 'TypeError', bytes: 16, type: 'Other' },
      { error: 'SyntaxError', bytes: 8 },
      { error: 'TypeError', bytes: 16, type: 'Other' },
    ]);
  });
});
