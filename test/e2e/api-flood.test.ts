/**
 * The control API under a socket flood, against the real service on the sandbox: 1,100 sockets keep
 * sending the start of a request and never its end (each one the server closes is opened again, a
 * bounded number of times), while the service's process may hold at most 1,024 open files (its hard
 * limit set to 1,024, as `ulimit -n 1024` would). The API keeps at most api.maxConnections of them:
 * a call placed meanwhile is still decided and recorded, and a real API request is answered.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { connect } from 'node:net';
import { callsLeft, ledgerRecordWhen, placeCall, RunningApp, sandbox, startApp, TestAmi } from '../support';

const SOCKETS = 1100;
const FILES = 1024;
/** A socket the server closed is opened again after this long, at most RECONNECTS times in all. */
const REOPEN_MS = 1000;
const RECONNECTS = 60000;

let ami: TestAmi;
let app: RunningApp;

beforeAll(async () => {
  sandbox();
  ami = await new TestAmi().start();
  app = await startApp({ CONSENT_IVR_FLOW_INPUT_TIMEOUT_MS: '1500', CONSENT_IVR_FLOW_MAX_ATTEMPTS: '2' });
  // The open-files limit of the running service, soft and hard (prlimit(1), util-linux).
  execFileSync('prlimit', ['--pid', String(app.pid), `--nofile=${FILES}:${FILES}`]);
}, 60000);

afterAll(async () => {
  const code = await app?.stop();
  ami?.close();
  expect(code).toBe(0);
  expect(app?.leaks()).toEqual([]);
});

/** "Max open files" of a process: [soft, hard]. */
function fileLimits(pid: number): [number, number] {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files')) ?? '';
  const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
  return [Number(soft), Number(hard)];
}

const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** SOCKETS sockets to the API, each sending a request's first lines and never the rest. */
function flood(port: number) {
  let stopped = false;
  let reconnects = 0;
  let connected = 0;
  let firstRound = 0;
  let allOpen: () => void = () => undefined;
  const opened = new Promise<void>((r) => (allOpen = r));
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<ReturnType<typeof connect>>();
  const open = (first: boolean) => {
    const s = connect(port, '127.0.0.1');
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('connect', () => {
      connected += 1;
      if (first && ++firstRound === SOCKETS) allOpen();
      s.write('GET /calls/1764496800.7 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    });
    s.on('close', () => {
      sockets.delete(s);
      if (stopped || reconnects >= RECONNECTS) return;
      reconnects += 1;
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) open(false);
      }, REOPEN_MS);
      timers.add(t);
    });
  };
  for (let i = 0; i < SOCKETS; i++) open(true);
  return {
    opened,
    get connected() {
      return connected;
    },
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
    },
  };
}

test('When 1,100 sockets hold unfinished requests against a service limited to 1,024 open files, then a call is still decided and recorded, a real API request is answered, and the process stays far from its limit', async () => {
  expect(fileLimits(app.pid)).toEqual([FILES, FILES]);
  const port = (await app.waitForLog((l) => l.message === 'api listening', 5000, 'the API listener')).port as number;
  const token = readFileSync(sandbox().api.tokenFile, 'utf8').trim();

  const f = flood(port);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, openFiles(app.pid))), 100);
  try {
    await f.opened;
    peak = Math.max(peak, openFiles(app.pid));

    // A caller accepts while the flood goes on: decided, stored, recorded.
    const call = await placeCall(ami, { w1: 1.5, k1: '1', talk: 6, agentSecs: 8, app: app.name });
    const uid = await call.uniqueId;
    expect(await call.result).toMatchObject({ result: 'accepted', id: uid });
    const record = await ledgerRecordWhen(uid, (r) => r.outcome === 'accepted' && !!r.recording?.file);
    expect(existsSync(record.recording?.file?.path as string)).toBe(true);

    // A CRM asks for the call's state meanwhile: answered (a few tries at most, should its socket
    // be one the flood pushes out before it sent its request).
    let answer: { status: number; body: Record<string, unknown> } | null = null;
    for (let attempt = 0; attempt < 5 && !answer; attempt++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/calls/${uid}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
        answer = { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } catch {
        answer = null;
      }
    }
    expect(answer).toMatchObject({ status: 200, body: { uniqueId: uid, direction: 'inbound', outcome: 'accepted' } });
    expect(await callsLeft(app.name, [uid])).toEqual([]);
  } finally {
    clearInterval(sampler);
    f.stop();
  }
  writeFileSync(resolve(sandbox().stateDir, 'logs', 'api-flood.json'), `${JSON.stringify({ sockets: SOCKETS, fileLimit: FILES, connections: f.connected, peakOpenFiles: peak }, null, 2)}\n`);
  // The flood really ran: far more connections than the API keeps, and the files stayed bounded.
  expect(f.connected).toBeGreaterThan(SOCKETS);
  expect(peak).toBeLessThan(FILES / 2);
  expect(app.lines.filter((l) => /EMFILE|ENFILE/.test(JSON.stringify(l)))).toEqual([]);
}, 180000);
