/**
 * A small ARI of the unit tests' own, for the real ari-client: the parts of Asterisk's api-docs it
 * loads (the Swagger 1.1 listing, the events and channels APIs), the events websocket, the event
 * filter. A test may answer any request itself (`answer`), to make the load fail in its own way.
 */
import type { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger';
// ws comes with ari-client (which opens the events websocket with it); no types are installed.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const WebSocket = require('ws') as { Server: new (o: { server: Server; path?: string }) => EventEmitter & { close(): void } };

/** The parts of Asterisk's api-docs that ari-client reads, by path: the listing and the APIs' declarations. */
export function apiDocs(base: string): Record<string, Record<string, unknown>> {
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

export interface FakeAriOptions {
  /** The Stasis application whose event filter may be set. */
  app?: string;
  /** Answers a request instead of the fake ARI when it returns true (`path` without the query). */
  answer?: (path: string, req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface FakeAri {
  url: string;
  /** Sends a text frame to every events websocket. */
  send(frame: string): void;
  /** Resolves when the first events websocket is open. */
  connected: Promise<void>;
  /** Events websockets opened so far. */
  connections(): number;
  /** Stops reading from every events websocket open now: its pings get no pong. */
  silence(): void;
  close(): Promise<void>;
}

export async function fakeAri(options: FakeAriOptions = {}): Promise<FakeAri> {
  let docs: Record<string, unknown> = {};
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] as string;
    req.resume();
    if (options.answer?.(path, req, res)) return;
    if (req.method === 'GET' && docs[path]) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(docs[path]));
    }
    if (req.method === 'PUT' && options.app && path === `/ari/applications/${options.app}/eventFilter`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{}');
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"message":"not here"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  docs = apiDocs(`${url}/ari`);
  // The TCP connections under the websockets, to silence them (Node's own socket, not ws's).
  const upgraded: Socket[] = [];
  server.on('upgrade', (_req: IncomingMessage, socket: Socket) => upgraded.push(socket));
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
    connections: () => sockets.length,
    silence: () => upgraded.forEach((s) => s.pause()),
    close: async () => {
      sockets.forEach((s) => s.terminate());
      upgraded.forEach((s) => s.destroy());
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A logger at debug level whose JSON lines are kept, parsed, in `lines`. */
export function capturedLog(): { log: Logger; lines: Record<string, unknown>[] } {
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
