/**
 * The control API's listener under abuse (src/midcall/control-api.ts): bodies past the limit are refused
 * unread with 413, every 4xx closes its socket, sockets past maxConnections are closed at once, and
 * sockets that never finish their headers are closed by the server. Over loopback, with a stand-in
 * for the agent's actions.
 */
import type { Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { listenApi, MAX_BODY_BYTES } from '../../src/midcall/control-api';
import type { AgentActions } from '../../src/midcall/agent-actions';
import { createLogger } from '../../src/observability/logger';

const TOKEN = 'test-token';
const UID = '1764496800.7';
let server: Server;
let port: number;
const asked: string[] = [];

beforeAll(async () => {
  const actions = {
    status: async (id: string) => (asked.push(`status ${id}`), { status: 200, body: { uniqueId: id } }),
    withdraw: async (id: string) => (asked.push(`withdraw ${id}`), { status: 200, body: { recorded: false } }),
    pause: async (id: string, on: boolean) => (asked.push(`${on ? 'pause' : 'resume'} ${id}`), { status: 200, body: { paused: on } }),
  } as unknown as AgentActions;
  server = await listenApi(actions, TOKEN, '127.0.0.1', 0, createLogger({ level: 'error', format: 'json' }), { maxConnections: 4 });
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((r) => server.close(r)));
beforeEach(() => (asked.length = 0));

/** Sends raw bytes on a new socket; resolves with everything received once the server closes it. */
function exchange(raw: string | Buffer, keepSending?: (s: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (c) => (got += c.toString('utf8')));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    s.on('close', () => resolve(got));
    s.write(raw);
    keepSending?.(s);
  });
}

const head = (method: string, path: string, extra = '') => `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n${extra}`;

describe('control API limits', () => {
  test('When a body declares more than the limit, then the answer is 413, the socket is closed and nothing is done', async () => {
    const got = await exchange(`${head('POST', `/calls/${UID}/withdraw`, `Content-Length: ${300 * 1024 * 1024}\r\n`)}\r\n${'x'.repeat(2048)}`);
    expect(got).toMatch(/^HTTP\/1\.1 413 /);
    expect(got).toMatch(/\r\nconnection: close\r\n/i);
    expect(asked).toEqual([]);
  });

  test('When a chunked body grows past the limit, then the answer is 413, the socket is closed and nothing is done', async () => {
    const chunk = 'y'.repeat(512);
    const got = await exchange(`${head('POST', `/calls/${UID}/pause`, 'Transfer-Encoding: chunked\r\n')}\r\n`, (s) => {
      // Three chunks: past the limit on the third; the server answers and closes without the rest.
      for (let i = 0; i < 3; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    expect(got).toMatch(/^HTTP\/1\.1 413 /);
    expect(asked).toEqual([]);
    expect(3 * chunk.length).toBeGreaterThan(MAX_BODY_BYTES);
  });

  test('When a body within the limit comes with a request, then it is read and dropped, and the request is answered', async () => {
    const got = await exchange(`${head('POST', `/calls/${UID}/pause`, 'Content-Length: 11\r\nConnection: close\r\n')}\r\n{"why":"x"}`);
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(asked).toEqual([`pause ${UID}`]);
  });

  test('When a request is refused (401, 404, 405), then the server closes the socket after answering, even when the client asked to keep it', async () => {
    for (const [raw, status] of [
      [`GET /calls/${UID} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`, 401],
      [`${head('GET', '/nothing', 'Connection: keep-alive\r\n')}\r\n`, 404],
      [`${head('GET', `/calls/${UID}/withdraw`, 'Connection: keep-alive\r\n')}\r\n`, 405],
    ] as const) {
      const got = await exchange(raw);
      expect(got).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(got).toMatch(/\r\nconnection: close\r\n/i);
    }
    expect(asked).toEqual([]);
  });

  test('When more sockets than maxConnections hang with unfinished headers, then the oldest are closed as new ones come, a real request takes the place of one of them and is answered at once, and the server times the rest out', async () => {
    const closes: string[] = [];
    let closedCount = 0;
    let onClose = () => undefined as void;
    const idle: Promise<string>[] = [];
    for (let i = 0; i < 10; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      idle.push(
        new Promise<string>((resolve) => {
          let got = '';
          s.on('data', (c) => (got += c.toString('utf8')));
          s.on('close', () => {
            closes.push(got);
            closedCount += 1;
            onClose();
            resolve(got);
          });
        }),
      );
      // One after the other, so that the server sees them in this order.
      await new Promise<void>((r) => s.on('connect', () => s.write('GET /calls/1.1 HTTP/1.1\r\nHost: x\r\n', () => r())));
    }
    // The server keeps 4: the 6 oldest were closed, unanswered, as the newer ones came.
    await new Promise<void>((r) => {
      onClose = () => (closedCount >= 6 ? r() : undefined);
      onClose();
    });
    const got = await exchange(`${head('GET', `/calls/${UID}`, 'Connection: close\r\n')}\r\n`);
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    const answers = await Promise.all(idle);
    // 7 closed unanswered (one for the real request), the 3 held to their headers timeout got 408.
    expect(answers.filter((a) => a === '')).toHaveLength(7);
    expect(answers.filter((a) => /^HTTP\/1\.1 408 /.test(a))).toHaveLength(3);
    expect(closes.slice(0, 7)).toEqual(Array(7).fill(''));
  }, 30000);
});
