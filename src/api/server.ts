/**
 * The control API over HTTP, for agent desktops and CRMs (loopback by default):
 *   GET  /calls/<uniqueid>            the consent state of a call
 *   POST /calls/<uniqueid>/withdraw   withdraw on the caller's behalf
 *   POST /calls/<uniqueid>/pause      pause the recording (silence in the file)
 *   POST /calls/<uniqueid>/resume     resume it
 * Every request needs "Authorization: Bearer <token>": without it, or with another token, the
 * answer is 401 and nothing is done.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AgentActions, Answer } from '../app/agent-actions';
import { UNIQUE_ID_SOURCE } from '../domain/vocabulary';
import type { Logger } from '../logging/logger';

/** A UNIQUEID, with or without asterisk.conf's systemname (domain/vocabulary.ts); anything else is not a call. */
const ROUTE = new RegExp(`^/calls/(${UNIQUE_ID_SOURCE})(?:/(withdraw|pause|resume))?$`);

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function listenApi(actions: AgentActions, token: string, host: string, port: number, log: Logger): Promise<Server> {
  const expected = digest(`Bearer ${token}`);
  const server = createServer((req, res) => {
    const send = ({ status, body }: Answer) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    // Compared as digests: same length whatever was sent, and in constant time.
    if (!timingSafeEqual(digest(String(req.headers.authorization ?? '')), expected)) {
      res.setHeader('www-authenticate', 'Bearer');
      send({ status: 401, body: { error: 'missing or wrong bearer token' } });
      return;
    }
    const m = ROUTE.exec((req.url ?? '/').split('?')[0] as string);
    if (!m) return send({ status: 404, body: { error: 'not found: use /calls/<uniqueid>[/withdraw|/pause|/resume]' } });
    const [, uniqueId, action] = m as unknown as [string, string, string | undefined];
    const method = action ? 'POST' : 'GET';
    if (req.method !== method) {
      res.setHeader('allow', method);
      return send({ status: 405, body: { error: `use ${method}` } });
    }
    req.resume(); // a body, if any, is not used
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
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
