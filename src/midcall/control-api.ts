/**
 * The control API over HTTP, for agent desktops and CRMs (loopback by default):
 *   GET  /calls/<uniqueid>            the consent state of a call
 *   POST /calls/<uniqueid>/withdraw   withdraw on the caller's behalf
 *   POST /calls/<uniqueid>/pause      pause the recording (silence in the file)
 *   POST /calls/<uniqueid>/resume     resume it
 * Every request needs "Authorization: Bearer <token>": without it, or with another token, the
 * answer is 401 and nothing is done.
 *
 * It shares its process (and its open files) with the calls, so it holds under abuse: at most
 * `maxConnections` sockets (when full, a new socket takes the place of the oldest one that is not
 * being answered, so that sockets held open with unfinished headers never lock a real client out),
 * headers within HEADERS_TIMEOUT_MS and the whole request within REQUEST_TIMEOUT_MS (408 and closed
 * otherwise), bodies of MAX_BODY_BYTES at most (413 and closed, never read further), and the
 * socket closed after every 4xx answer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AgentActions, Answer } from './agent-actions';
import { UNIQUE_ID_SOURCE } from '../domain/vocabulary';
import type { Logger } from '../observability/logger';

/** A UNIQUEID, with or without asterisk.conf's systemname (domain/vocabulary.ts); anything else is not a call. */
const ROUTE = new RegExp(`^/calls/(${UNIQUE_ID_SOURCE})(?:/(withdraw|pause|resume))?$`);

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Limits of the listener (see above). */
export const HEADERS_TIMEOUT_MS = 5000;
export const REQUEST_TIMEOUT_MS = 10000;
export const MAX_BODY_BYTES = 1024;
const MAX_HEADER_BYTES = 8192;
/** How often Node looks for sockets past the timeouts (its default, 30 s, would keep them that long). */
const CHECK_INTERVAL_MS = 1000;

export interface ApiLimits {
  /** Sockets open at once at most; more are closed as soon as accepted. */
  maxConnections: number;
}

export function listenApi(actions: AgentActions, token: string, host: string, port: number, log: Logger, limits: ApiLimits): Promise<Server> {
  const expected = digest(`Bearer ${token}`);
  const act: Act = (uniqueId, action, send) => runAction(actions, log, uniqueId, action, send);
  const server = createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CHECK_INTERVAL_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => {
      busy(req.socket, true);
      res.once('close', () => busy(req.socket, false));
      handleRequest(req, res, expected, act);
    },
  );
  const busy = trackConnections(server, limits.maxConnections);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Carries out a call's action (or reads its state, with no action) and sends the answer. */
type Act = (uniqueId: string, action: string | undefined, send: (a: Answer) => void) => void;

/** The answers of one request: `send` (once), and `tooLarge`, which also stops reading the socket. */
function answers(req: IncomingMessage, res: ServerResponse) {
  const send = ({ status, body }: Answer) => {
    if (res.headersSent) return;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    // After a refusal the socket is not kept: a client that misbehaves starts again from a new one.
    if (status >= 400 && status < 500) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  };
  const tooLarge = () => {
    send({ status: 413, body: { error: `a request body is at most ${MAX_BODY_BYTES} bytes (none is needed)` } });
    // Nothing more is read from this socket.
    req.pause();
    res.once('finish', () => req.socket.destroy());
  };
  return { send, tooLarge };
}

/** One request: the token, the body's size, the route and the method checked, then the action once the body is read. */
function handleRequest(req: IncomingMessage, res: ServerResponse, expected: Buffer, act: Act): void {
  const { send, tooLarge } = answers(req, res);
  // Compared as digests: same length whatever was sent, and in constant time.
  if (!timingSafeEqual(digest(String(req.headers.authorization ?? '')), expected)) {
    res.setHeader('www-authenticate', 'Bearer');
    send({ status: 401, body: { error: 'missing or wrong bearer token' } });
    return;
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(declared) || declared > MAX_BODY_BYTES) return tooLarge();
  const m = ROUTE.exec((req.url ?? '/').split('?')[0] as string);
  if (!m) return send({ status: 404, body: { error: 'not found: use /calls/<uniqueid>[/withdraw|/pause|/resume]' } });
  const [, uniqueId, action] = m as unknown as [string, string, string | undefined];
  const method = action ? 'POST' : 'GET';
  if (req.method !== method) {
    res.setHeader('allow', method);
    return send({ status: 405, body: { error: `use ${method}` } });
  }
  // A body, if any, is not used: read (to its end, within the limit) and dropped before acting.
  let received = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_BODY_BYTES && !refused) {
      refused = true;
      tooLarge();
    }
  });
  req.once('end', () => {
    if (!refused) act(uniqueId, action, send);
  });
}

/**
 * Keeps the server's sockets within `maxConnections` (see above). Returns `busy`, which marks a
 * socket as having a request being answered, or not.
 */
function trackConnections(server: Server, maxConnections: number): (socket: Socket, answering: boolean) => void {
  /** Open sockets in the order they came, each with whether a request on it is being answered. */
  const sockets = new Map<Socket, boolean>();
  server.on('connection', (socket: Socket) => {
    sockets.set(socket, false);
    socket.once('close', () => sockets.delete(socket));
    if (sockets.size <= maxConnections) return;
    // Full: the oldest socket with no request being answered goes (idle, or still sending headers).
    for (const [s, answering] of sockets) {
      if (!answering && s !== socket) {
        sockets.delete(s);
        s.destroy();
        return;
      }
    }
    sockets.delete(socket);
    socket.destroy();
  });
  // Node's own cap, a backstop: the sockets above are never more than maxConnections once handled.
  server.maxConnections = maxConnections + 1;
  return (socket, answering) => {
    if (sockets.has(socket)) sockets.set(socket, answering);
  };
}

function runAction(actions: AgentActions, log: Logger, uniqueId: string, action: string | undefined, send: (a: Answer) => void): void {
  const work =
    action === 'withdraw' ? actions.withdraw(uniqueId) : action === 'pause' ? actions.pause(uniqueId, true) : action === 'resume' ? actions.pause(uniqueId, false) : actions.status(uniqueId);
  work.then(
    (answer) => {
      if (action) log.info('control API', { call: uniqueId, action, status: answer.status });
      send(answer);
    },
    (e: Error) => {
      log.error('control API request failed', { call: uniqueId, action: action ?? 'status', error: e.message });
      send({ status: 503, body: { error: 'Asterisk or the ledger did not answer; try again' } });
    },
  );
}
