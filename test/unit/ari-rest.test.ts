/**
 * The per-call REST requests (src/adapters/ari/rest.ts) against an HTTP server of this test's own:
 * what reaches Asterisk, how a refusal and a late answer are told apart (a late answer is
 * "uncertain": the request may still take effect), and the bound on connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AriRequestError } from '../../src/adapters/ari/request';
import { AriRest, MAX_SOCKETS } from '../../src/adapters/ari/rest';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

async function server(handle: (req: IncomingMessage, res: ServerResponse, seen: Seen) => void): Promise<{ url: string; seen: Seen[]; connections: () => number; close(): Promise<void> }> {
  const seen: Seen[] = [];
  let open = 0;
  let peak = 0;
  const s: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const one = { method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], body };
      seen.push(one);
      handle(req, res, one);
    });
  });
  s.on('connection', (sock) => {
    open += 1;
    peak = Math.max(peak, open);
    sock.on('close', () => (open -= 1));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    seen,
    connections: () => peak,
    close: () => {
      s.closeAllConnections();
      return new Promise((r) => s.close(() => r()));
    },
  };
}

describe('the ARI REST requests', () => {
  const closing: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const c of closing.splice(0).reverse()) await c.close();
  });

  test('When a prompt is played, then Asterisk gets the path under /ari, the query, Basic authorization, and the answer body comes back', async () => {
    const srv = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"pb-1"}');
    });
    closing.push(srv);
    const rest = new AriRest({ url: `${srv.url}/`, user: 'consent', password: 'p@ss', requestTimeoutMs: 2000 });
    closing.push(rest);
    await expect(rest.request('POST', '/channels/c%201/play/pb-1', { media: 'sound:consent-ivr/notice', lang: 'ar' }, 'play')).resolves.toBe('{"id":"pb-1"}');
    await rest.request('PUT', '/applications/app/eventFilter', {}, 'event filter', { allowed: [{ type: 'StasisStart' }] });
    expect(srv.seen[0]).toEqual({
      method: 'POST',
      url: '/ari/channels/c%201/play/pb-1?media=sound%3Aconsent-ivr%2Fnotice&lang=ar',
      authorization: `Basic ${Buffer.from('consent:p@ss').toString('base64')}`,
      contentType: undefined,
      body: '',
    });
    expect(srv.seen[1]).toMatchObject({ method: 'PUT', url: '/ari/applications/app/eventFilter', contentType: 'application/json', body: '{"allowed":[{"type":"StasisStart"}]}' });
  });

  test('When Asterisk refuses a request, then it rejects with the status and its message, and it is certain (not taken)', async () => {
    const srv = await server((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"message":"Channel not found"}');
    });
    closing.push(srv);
    const rest = new AriRest({ url: srv.url, user: 'u', password: 'p', requestTimeoutMs: 2000 });
    closing.push(rest);
    const e = (await rest.request('POST', '/channels/x/answer', {}, 'answer').catch((err: unknown) => err)) as AriRequestError;
    expect(e).toBeInstanceOf(AriRequestError);
    expect(e.message).toBe('ARI answer failed: 404 Channel not found');
    expect(e.status).toBe(404);
    expect(e.uncertain).toBe(false);
  });

  test('When Asterisk does not answer in time, then it rejects as uncertain (the request may still take effect)', async () => {
    const srv = await server(() => undefined); // never answers
    closing.push(srv);
    const rest = new AriRest({ url: srv.url, user: 'u', password: 'p', requestTimeoutMs: 300 });
    closing.push(rest);
    const e = (await rest.request('POST', '/channels/x/play/p', {}, 'play').catch((err: unknown) => err)) as AriRequestError;
    expect(e.message).toBe('ARI play timed out after 300 ms');
    expect(e.uncertain).toBe(true);
    expect(e.status).toBeUndefined();
  });

  test('When nothing listens, then it rejects at once, certain', async () => {
    const srv = await server(() => undefined);
    const url = srv.url;
    await srv.close();
    const rest = new AriRest({ url, user: 'u', password: 'p', requestTimeoutMs: 2000 });
    closing.push(rest);
    const e = (await rest.request('POST', '/channels/x/answer', {}, 'answer').catch((err: unknown) => err)) as AriRequestError;
    expect(e.message).toMatch(/^ARI answer failed: .*ECONNREFUSED/);
    expect(e.uncertain).toBe(false);
  });

  test(`When ${MAX_SOCKETS * 2} requests are in flight at once, then at most ${MAX_SOCKETS} connections are opened (below http.conf's sessionlimit) and every request is answered`, async () => {
    const held: ServerResponse[] = [];
    const srv = await server((_req, res) => {
      held.push(res);
      // Answer once the pool is full, so that every connection is busy at the same time.
      if (held.length === MAX_SOCKETS) for (const r of held.splice(0)) r.end('{}');
      else if (held.length > 0 && srv.seen.length > MAX_SOCKETS) for (const r of held.splice(0)) r.end('{}');
    });
    closing.push(srv);
    const rest = new AriRest({ url: srv.url, user: 'u', password: 'p', requestTimeoutMs: 5000 });
    closing.push(rest);
    const all = await Promise.all(Array.from({ length: MAX_SOCKETS * 2 }, (_, i) => rest.request('GET', `/channels/c${i}`, {}, 'get channel')));
    expect(all).toHaveLength(MAX_SOCKETS * 2);
    expect(srv.connections()).toBe(MAX_SOCKETS);
  });
});
