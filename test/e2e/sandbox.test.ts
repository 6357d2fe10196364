/** The sandbox the repo provisions, and a call through the service's real entry point. */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ariApplication, asteriskCli, EVENTS_ACTED_ON, REPO, placeCall, RunningApp, sandbox, SandboxStatus, sandboxStatus, stasisChannels, startApp, TestAmi, waitChannelsGone } from '../support';

describe('the sandbox', () => {
  test('When the sandbox is up, then its status names every part, running, with loopback addresses', () => {
    const s = sandbox();
    expect(s.ari).toEqual({ url: 'http://127.0.0.1:8088', user: 'consent-ivr', password: expect.stringMatching(/^[0-9a-f]{32,}$/), app: 'consent-ivr', running: true });
    expect(s.ami).toMatchObject({ host: '127.0.0.1', port: 5038, user: 'consent-ivr', running: true });
    expect(s.redis).toMatchObject({ url: expect.stringMatching(/^redis:\/\/127\.0\.0\.1:/), running: true });
    expect(s.recordingsDir).toMatch(/^\//);
    expect(s.asteriskRoot).toMatch(/^\//);
  });

  test('When sandbox.sh prints its status, then it is the toolkit\'s SandboxStatus, produced by the same code', async () => {
    const printed = JSON.parse(execFileSync('bash', [resolve(REPO, 'scripts/sandbox.sh'), 'status', '--json'], { encoding: 'utf8' })) as SandboxStatus;
    expect(printed).toEqual(await sandboxStatus());
    expect(printed.asterisk).toEqual({ running: true, pid: expect.any(Number), version: expect.stringMatching(/^22\./) });
  });

  test('When an Asterisk CLI command is run, then Asterisk 22 answers and the repo dialplan is loaded', () => {
    expect(asteriskCli('core show version')).toMatch(/^Asterisk 22\./);
    expect(asteriskCli('dialplan show consent-ivr')).toContain('Stasis(');
    expect(asteriskCli('dialplan show consent-ivr-result')).toContain('CONSENT_RESULT');
  });
});

describe('the recordings mount in the shared chroot', () => {
  /** Whether a file written inside the chroot (as Asterisk sees it) shows in this checkout's recordings folder. */
  function writeReachesCheckout(): boolean {
    const { asteriskRoot, recordingsDir } = sandbox();
    const name = `mount-probe-${randomUUID()}`;
    const inChroot = spawnSync('chroot', [asteriskRoot, 'sh', '-c', 'echo probe > "$1"', 'sh', join(recordingsDir, name)], { encoding: 'utf8' });
    const seen = existsSync(join(recordingsDir, name));
    rmSync(join(recordingsDir, name), { force: true });
    return inChroot.status === 0 && seen;
  }
  const mountedAt = (path: string) => spawnSync('mountpoint', ['-q', path]).status === 0;
  const bind = (from: string, to: string) => execFileSync('mount', ['--bind', from, to]);

  test('When the recordings folder in the chroot is mounted from another folder, or a deleted checkout left its mount, then `up` mounts this checkout again and removes the dead mount', () => {
    const { asteriskRoot, recordingsDir } = sandbox();
    expect(writeReachesCheckout()).toBe(true);
    const inside = asteriskRoot + recordingsDir;
    // Another folder mounted over this checkout's (as a stale mount of an old work tree at the same path is).
    const other = mkdtempSync(join(tmpdir(), 'civr-other-'));
    // A checkout deleted while its sandbox was up (a CI work tree): its mount points at a deleted folder.
    const gone = mkdtempSync(join(tmpdir(), 'civr-gone-'));
    const goneInside = asteriskRoot + gone;
    mkdirSync(goneInside, { recursive: true });
    try {
      bind(other, inside);
      bind(gone, goneInside);
      rmSync(gone, { recursive: true });
      expect(writeReachesCheckout()).toBe(false);

      const up = spawnSync('bash', [resolve(REPO, 'scripts/sandbox.sh'), 'up'], { encoding: 'utf8' });
      expect(up.status).toBe(0);
      expect(up.stderr).toContain(`removing a mount left by a deleted checkout: ${goneInside}`);
      expect(up.stderr).toContain(`${inside} is mounted from another folder than ${recordingsDir}: mounting it again`);
      expect(writeReachesCheckout()).toBe(true);
      expect(mountedAt(goneInside)).toBe(false);
    } finally {
      // Leave the sandbox as it was even when an assertion failed.
      if (!writeReachesCheckout()) spawnSync('umount', [inside]);
      if (mountedAt(goneInside)) spawnSync('umount', ['-l', goneInside]);
      rmSync(goneInside, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  }, 120000);
});

describe('a call through the service', () => {
  let ami: TestAmi;
  let app: RunningApp;

  beforeAll(async () => {
    ami = new TestAmi();
    await ami.start();
    app = await startApp();
  });

  afterAll(async () => {
    expect(await app.stop()).toBe(0);
    app.saveLog('sandbox');
    ami.close();
  });

  test('When a Local channel is originated through AMI, then it enters Stasis, the service sees it, and it leaves Stasis back into the dialplan', async () => {
    const call = await placeCall(ami, { app: app.name, w1: 1, k1: '2', talk: 8 });
    const uid = await call.uniqueId;
    await app.waitForLog((l) => l.call === uid && l.message === 'call entered the consent flow', 10000, 'the service to see the call');
    const r = await call.result;
    // The UserEvent comes from the dialplan after the Gosub: the call left Stasis and went on.
    expect(r).toMatchObject({ result: 'refused', id: uid });
    expect(await waitChannelsGone([uid])).toEqual([]);
    expect(await stasisChannels(app.name)).toEqual([]);
  });

  test('When the service is connected, then Asterisk sends its application only the event types it acts on', async () => {
    const application = await ariApplication(app.name);
    expect(application?.events_allowed.map((e) => e.type).sort()).toEqual(EVENTS_ACTED_ON);
    expect(application?.events_disallowed).toEqual([]);
  });
});

describe("the service's AMI events", () => {
  test('When the service logs in to AMI, then Asterisk sends it only the dialplan\'s withdrawal and pause nudges, not the other user events of the PBX', async () => {
    const { AmiConnection } = await import('../../src/adapters/ami/ami-connection');
    const { createLogger } = await import('../../src/observability/logger');
    const { MIDCALL_EVENT_FILTER } = await import('../../src/midcall');
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', format: 'json' }, new (await import('node:stream')).Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const service = new AmiConnection({ ...sandbox().ami, actionTimeoutMs: 5000, events: true, eventFilter: MIDCALL_EVENT_FILTER }, log);
    const tester = new TestAmi();
    const got: string[] = [];
    service.on('event', (e: Record<string, string>) => {
      if (e.event === 'UserEvent') got.push(e.userevent as string);
    });
    await Promise.all([service.start(), tester.start()]);
    try {
      const tag = randomUUID();
      for (const name of ['ConsentBenchEnter', 'ConsentIvrWithdrawn', 'QueueCallerJoin', 'ConsentIvrPause', 'ConsentIvrPauseLate']) {
        await tester.conn.action('UserEvent', { UserEvent: name, Tag: tag });
      }
      await tester.conn.action('UserEvent', { UserEvent: 'ConsentIvrWithdrawn', Tag: `${tag}-last` });
      await tester.waitFor((e) => e.userevent === 'ConsentIvrWithdrawn' && e.tag === `${tag}-last`, 5000, 'the last user event');
      await new Promise((r) => setTimeout(r, 300));
      // PauseLate matches the filter's prefix; the inbox itself ignores it.
      expect(got).toEqual(['ConsentIvrWithdrawn', 'ConsentIvrPause', 'ConsentIvrPauseLate', 'ConsentIvrWithdrawn']);
      expect(lines.join('')).not.toMatch(/event filter not set/);
    } finally {
      service.close();
      tester.close();
    }
  });
});
