/**
 * The adapter's connection over the real ari-client (as patched at install), against a small ARI of
 * this test's own: a refused password and a failed Swagger load are ordinary rejections of the
 * connect (unpatched, ari-client threw them from a callback: an uncaught exception, which fails the
 * test), and a websocket that stops answering is noticed by the heartbeat (ari-client's ping and
 * pong) and replaced.
 */
import { AriAdapter } from '../../src/adapters/ari/ari-adapter';
import { capturedLog, fakeAri } from '../support/fake-ari';
import { eventually, letTimePass } from '../support/wait';

const APP = 'connection-test';

describe('the ARI connection', () => {
  /** Closed after each test, last first, whether it passed or not. */
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0).reverse()) await o.close();
  });

  test('When ARI refuses the password, then start rejects with the refusal and nothing else is thrown', async () => {
    const ari = await fakeAri({
      app: APP,
      answer: (path, _req, res) => {
        if (!path.startsWith('/ari/api-docs/')) return false;
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"message":"Authentication required"}');
        return true;
      },
    });
    opened.push(ari);
    const { log } = capturedLog();
    const adapter = new AriAdapter({ url: ari.url, user: 'consent', password: 'wrong', app: APP, requestTimeoutMs: 2000 }, log);
    opened.push(adapter);
    await expect(adapter.start()).rejects.toThrow('ARI refused the credentials of user consent');
  });

  test('When an API declaration cannot be read, then the connect is retried with a warning that says why, and succeeds once it can', async () => {
    let failures = 2;
    const ari = await fakeAri({
      app: APP,
      answer: (path, _req, res) => {
        if (path !== '/ari/api-docs/events.json' || failures === 0) return false;
        failures -= 1;
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('busy');
        return true;
      },
    });
    opened.push(ari);
    const { log, lines } = capturedLog();
    const adapter = new AriAdapter({ url: ari.url, user: 'u', password: 'p', app: APP, requestTimeoutMs: 2000 }, log);
    opened.push(adapter);
    await adapter.start();
    expect(adapter.state).toBe('up');
    const retries = lines.filter((l) => l.message === 'ARI not reachable; retrying');
    expect(retries).toHaveLength(2);
    expect(String(retries[0]?.error)).toMatch(/Unable to read api 'events'/);
  }, 20000);

  test('When Asterisk cannot be reached, then the connect is retried with a warning that says why', async () => {
    const { log, lines } = capturedLog();
    const adapter = new AriAdapter({ url: 'http://127.0.0.1:1', user: 'u', password: 'p', app: APP, requestTimeoutMs: 2000 }, log);
    opened.push(adapter);
    // Never resolves here: it keeps trying until closed.
    void adapter.start();
    const warned = await eventually(() => lines.find((l) => l.message === 'ARI not reachable; retrying'), 5000, 'the warning');
    expect(warned).toMatchObject({ url: 'http://127.0.0.1:1', error: expect.stringContaining('ECONNREFUSED') });
    expect(adapter.state).toBe('connecting');
  });

  test('When the websocket stops answering pings, then the heartbeat notices it and a new connection is made', async () => {
    const ari = await fakeAri({ app: APP });
    opened.push(ari);
    const { log, lines } = capturedLog();
    const adapter = new AriAdapter({ url: ari.url, user: 'u', password: 'p', app: APP, requestTimeoutMs: 2000, heartbeatMs: 100 }, log);
    opened.push(adapter);
    const states: string[] = [];
    adapter.on('state', (s: string) => states.push(s));
    await adapter.start();
    await ari.connected;
    await letTimePass(600, 'six heartbeats whose pings are answered: nothing happens, so nothing can be awaited');
    expect(lines.filter((l) => l.message === 'ARI websocket silent; reconnecting')).toEqual([]);
    expect(ari.connections()).toBe(1);
    ari.silence();
    await eventually(() => ari.connections() === 2 && adapter.state === 'up', 5000, 'a new websocket', 50);
    expect(lines.filter((l) => l.message === 'ARI websocket silent; reconnecting')).toHaveLength(1);
    expect(states).toEqual(['up', 'down', 'up']);
  }, 20000);
});
