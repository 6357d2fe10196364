/**
 * Helpers for end-to-end tests against the real sandbox (Asterisk 22 + Redis started by
 * `npm run sandbox:up`): its status, a full-privilege AMI connection for placing calls, and the
 * service started through its real entry point.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { AmiConnection } from '../../src/adapters/ami/ami-connection';
import { createLogger } from '../../src/logging/logger';
import { wavHeader, wavSeconds as wavBufferSeconds } from '../../src/prompts/wav';

export const REPO = resolve(__dirname, '../..');

export interface SandboxStatus {
  ari: { url: string; user: string; password: string; app: string; running: boolean };
  ami: { host: string; port: number; user: string; secret: string; running: boolean };
  amiTest: { host: string; port: number; user: string; secret: string };
  /** Where SIP test callers (SIPp) send their INVITEs, and a number that reaches consent-example-inbound. */
  sip: { host: string; port: number; exten: string };
  redis: { url: string; running: boolean };
  /** The service's control API (when started with the sandbox configuration) and its bearer token file. */
  api: { url: string; tokenFile: string };
  recordingsDir: string;
  stateDir: string;
  asteriskRoot: string;
  soundsDir: string;
}

let cached: SandboxStatus | null = null;

export function sandbox(): SandboxStatus {
  cached ??= JSON.parse(execFileSync('bash', [resolve(REPO, 'scripts/sandbox.sh'), 'status', '--json'], { encoding: 'utf8' })) as SandboxStatus;
  if (!cached.ari.running || !cached.ami.running || !cached.redis.running) {
    throw new Error('the sandbox is not running: run `npm run sandbox:up` (npm test does it)');
  }
  return cached;
}

/** Runs an Asterisk CLI command in the sandbox. */
export function asteriskCli(command: string): string {
  return execFileSync('bash', [resolve(REPO, 'scripts/sandbox.sh'), 'cli', command], { encoding: 'utf8' });
}

const quiet = createLogger({ level: 'error', format: 'json' });

export type AmiEvent = Record<string, string>;

/** A test-only AMI connection with every privilege, receiving events. */
export class TestAmi {
  readonly conn: AmiConnection;
  readonly events: AmiEvent[] = [];
  private waiters: { match: (e: AmiEvent) => boolean; resolve: (e: AmiEvent) => void }[] = [];

  /** `actionTimeoutMs`: longer for tests that place hundreds of calls (Asterisk then answers actions behind its events). */
  constructor(actionTimeoutMs = 10000) {
    const s = sandbox().amiTest;
    this.conn = new AmiConnection({ host: s.host, port: s.port, user: s.user, secret: s.secret, actionTimeoutMs, events: true }, quiet);
    this.conn.on('event', (e: AmiEvent) => {
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    });
  }

  start(): Promise<void> {
    return this.conn.start();
  }

  /** Resolves with the first event (already seen or coming) that matches, or rejects after `ms`. */
  waitFor(match: (e: AmiEvent) => boolean, ms: number, what: string): Promise<AmiEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        rej(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      t.unref();
      const done = (e: AmiEvent) => {
        clearTimeout(t);
        res(e);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  close(): void {
    this.conn.close();
  }
}

export interface CallScript {
  /** Seconds to wait, then keys to send, in up to three steps. */
  w1?: number;
  k1?: string;
  w2?: number;
  k2?: string;
  w3?: number;
  k3?: string;
  /** Hang up right after step N instead of talking. */
  hangupAfter?: 1 | 2 | 3;
  /** Seconds the caller "talks" (a 1 kHz tone) after the keys. */
  talk?: number;
  /** Seconds the agent stays on the line. */
  agentSecs?: number;
  /** Caller ID number / name, any bytes (sent URI-encoded, decoded in the dialplan). */
  callerNum?: string;
  callerName?: string;
  callerNameUri?: string;
  /** Append 1,280 digits to the caller number in the dialplan. */
  callerLong?: boolean;
  /** Stasis application (ari.app) of the service instance the call goes to. */
  app?: string;
  /** Keys during the conversation: after W4 s of talk K4 (e.g. *9), after W5 more K5. */
  w4?: number;
  k4?: string;
  w5?: number;
  k5?: string;
  /** The agent presses agentK after agentW s on the line, then agentK2 after agentW2 more. */
  agentW?: number;
  agentK?: string;
  agentW2?: number;
  agentK2?: string;
  /** Dial this agent instead of the Local test agent (e.g. PJSIP/sipp-agent). */
  agentDial?: string;
  /** Reach the agent through the test queue (Queue) instead of Dial. */
  viaQueue?: boolean;
}

export interface PlacedCall {
  testId: string;
  /** UNIQUEID of the inbound channel (the one in Stasis), known once it entered the routine. */
  uniqueId: Promise<string>;
  /** The ConsentTest user event emitted by the dialplan after the routine returned. */
  result: Promise<AmiEvent>;
}

/** Originates Local/s@<context> with its other half at s@<other>, with channel variables. */
async function originateLocal(ami: TestAmi, context: string, other: string, vars: Record<string, string>): Promise<void> {
  await ami.conn.action('Originate', {
    Channel: `Local/s@${context}`,
    Context: other,
    Exten: 's',
    Priority: '1',
    Async: 'true',
    Timeout: '30000',
    // One header; Asterisk splits it on commas (values are URI-encoded, so they hold none).
    Variable: Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  });
}

/** Places a test call: Local/s@consent-test-in (inbound side) with the scripted caller on the other half. */
export async function placeCall(ami: TestAmi, script: CallScript, resultTimeoutMs = 90000): Promise<PlacedCall> {
  const testId = randomUUID().replace(/-/g, '').slice(0, 12);
  const vars: Record<string, string> = { __TESTID: testId };
  const put = (k: string, v: string | number | undefined) => {
    if (v !== undefined) vars[k] = String(v);
  };
  put('W1', script.w1);
  put('K1', script.k1);
  put('W2', script.w2);
  put('K2', script.k2);
  put('W3', script.w3);
  put('K3', script.k3);
  put('HANGUP_AFTER', script.hangupAfter);
  put('W4', script.w4);
  put('K4', script.k4);
  put('W5', script.w5);
  put('K5', script.k5);
  put('TALK', script.talk);
  put('__AGENT_SECS', script.agentSecs);
  put('__AGENT_W', script.agentW);
  put('__AGENT_K', script.agentK);
  put('__AGENT_W2', script.agentW2);
  put('__AGENT_K2', script.agentK2);
  put('AGENT_DIAL', script.agentDial);
  if (script.viaQueue) vars.VIA_QUEUE = '1';
  put('__CONSENT_APP', script.app);
  if (script.callerLong) vars.__TEST_CALLER_LONG = '1';
  if (script.callerNum !== undefined) vars.__TEST_CALLER_NUM = encodeURIComponent(script.callerNum);
  if (script.callerName !== undefined) vars.__TEST_CALLER_NAME = encodeURIComponent(script.callerName);
  // Already URI-encoded, e.g. %FF%FE for bytes that are not UTF-8.
  if (script.callerNameUri !== undefined) vars.__TEST_CALLER_NAME = script.callerNameUri;
  const uniqueId = ami
    .waitFor((e) => e.event === 'UserEvent' && e.userevent === 'ConsentTestEnter' && e.testid === testId, 30000, `call ${testId} to enter`)
    .then((e) => e.unique as string);
  const result = ami.waitFor((e) => e.event === 'UserEvent' && e.userevent === 'ConsentTest' && e.testid === testId, resultTimeoutMs, `result of call ${testId}`);
  // Keep unhandled-rejection noise away when a test does not await one of them.
  uniqueId.catch(() => undefined);
  result.catch(() => undefined);
  await originateLocal(ami, 'consent-test-in', 'consent-test-caller', vars);
  return { testId, uniqueId, result };
}

export interface RunningApp {
  /** The Stasis application name of this instance; calls reach it with `placeCall({ app })`. */
  name: string;
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  raw: string[];
  /** Resolves with the first log line matching, or rejects after `ms`. */
  waitForLog(match: (l: Record<string, unknown>) => boolean, ms: number, what: string): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Keeps the service's output in the sandbox's logs folder, for reading after a failure. */
  saveLog(name: string): void;
  /** Strings of the output that must never be there: the sandbox secrets and the given values. */
  leaks(forbidden?: string[]): string[];
}

/** Every service instance started by this test file, so none outlives it. */
const running = new Set<RunningApp>();

/** Kills what a failed test left running (keeping its output); a live child would keep jest from exiting. */
export async function killLeftoverApps(): Promise<void> {
  await Promise.all([...running].map((app) => app.stop('SIGKILL')));
  running.clear();
}

/**
 * Starts `consent-ivr start` (the built CLI) with the sandbox config plus environment overrides.
 * Each instance gets its own Stasis application name, so test files never take each other's calls.
 */
export async function startApp(env: Record<string, string> = {}, name = `civr-${randomUUID().slice(0, 8)}`): Promise<RunningApp> {
  const proc = spawn(process.execPath, [resolve(REPO, 'dist/cli/main.js'), 'start', '--config', resolve(REPO, 'config/sandbox.yaml')], {
    cwd: REPO,
    env: {
      ...process.env,
      CONSENT_IVR_METRICS_PORT: '0',
      CONSENT_IVR_API_PORT: '0',
      CONSENT_IVR_LOGGING_LEVEL: 'debug',
      CONSENT_IVR_PROMPTS_SOUNDS_DIR: sandbox().soundsDir,
      CONSENT_IVR_ARI_APP: name,
      // One journal per instance: the journal is locked by the instance that owns it.
      CONSENT_IVR_LEDGER_JOURNAL_PATH: resolve(sandbox().stateDir, 'journal', `${name}.jsonl`),
      // One ledger log per instance (instances never share a chain head), named like its application.
      CONSENT_IVR_LEDGER_LOG: name,
      CONSENT_IVR_LEDGER_CHECKPOINT_FILE: resolve(sandbox().stateDir, 'journal', `${name}.checkpoints.jsonl`),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  let waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  const onData = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { message: line, unparsed: true };
      }
      lines.push(parsed);
      waiters = waiters.filter((w) => {
        if (!w.match(parsed)) return true;
        w.resolve(parsed);
        return false;
      });
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', (c: Buffer) => raw.push(`stderr: ${c.toString('utf8')}`));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));

  const waitForLog = (match: (l: Record<string, unknown>) => boolean, ms: number, what: string) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}; last lines:\n${raw.slice(-15).join('\n')}`)), ms);
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(t);
          res(l);
        },
      });
    });
  };
  const app: RunningApp = {
    name,
    proc,
    lines,
    raw,
    waitForLog,
    leaks(forbidden = []) {
      const secrets = readdirSync(resolve(sandbox().stateDir, 'secrets')).map((f) => readFileSync(resolve(sandbox().stateDir, 'secrets', f), 'utf8').trim());
      const text = raw.join('\n');
      return [...secrets, sandbox().ari.password, sandbox().ami.secret, ...forbidden].filter((s) => s.length >= 4 && text.includes(s));
    },
    saveLog(name) {
      writeFileSync(resolve(sandbox().stateDir, 'logs', `app-${name}.log`), `${raw.join('\n')}\n`);
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await exited;
      // Every instance's output is kept, for the log scan at the end of the run (log-scan.test.ts).
      app.saveLog(`${name}-${proc.pid ?? 'x'}`);
      return code;
    },
  };
  running.add(app);
  proc.once('exit', () => running.delete(app));
  await Promise.race([
    waitForLog((l) => l.message === 'consent-ivr ready', 30000, 'the service to be ready'),
    exited.then((code) => {
      throw new Error(`consent-ivr exited with ${code} before it was ready:\n${raw.join('\n')}`);
    }),
  ]);
  return app;
}

/** Channels currently in the sandbox (`core show channels concise`), one line each. */
export function activeChannels(): string[] {
  return asteriskCli('core show channels concise')
    .split('\n')
    .filter((l) => l.includes('!'));
}

/**
 * Waits until none of the given channels (by UNIQUEID, the last field of a concise line) exists;
 * returns the lines still there after `ms`.
 */
export async function waitChannelsGone(uniqueIds: string[], ms = 20000): Promise<string[]> {
  const ids = new Set(uniqueIds);
  const left = () => activeChannels().filter((l) => ids.has(l.split('!').pop() ?? ''));
  const until = Date.now() + ms;
  let rest = left();
  while (rest.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    rest = left();
  }
  return rest;
}

/** Channels in a Stasis application, as ARI reports them. */
export async function stasisChannels(app: string): Promise<string[]> {
  return (await ariApplication(app))?.channel_ids ?? [];
}

export interface AriApplication {
  channel_ids: string[];
  events_allowed: { type: string }[];
  events_disallowed: { type: string }[];
}

/** A Stasis application as ARI describes it, or null when Asterisk does not know it. */
export async function ariApplication(app: string): Promise<AriApplication | null> {
  const { url, user, password } = sandbox().ari;
  const res = await fetch(`${url}/ari/applications/${encodeURIComponent(app)}`, {
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  });
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`ARI GET /applications/${app}: ${res.status}`);
  return (await res.json()) as AriApplication;
}

/** The event types a service instance acts on, which it asks Asterisk to limit its application to. */
export const EVENTS_ACTED_ON = ['ChannelDestroyed', 'ChannelDtmfReceived', 'ChannelHangupRequest', 'PlaybackFinished', 'StasisEnd', 'StasisStart'];

/** Length in seconds of a PCM WAV file. */
export function wavSeconds(file: string): number {
  return wavBufferSeconds(readFileSync(file));
}

/**
 * The length of a recording once MixMonitor has closed it (its header then declares the file's size):
 * a call's result can reach the test just before Asterisk has finished the file.
 */
export async function closedRecordingSeconds(file: string, ms = 5000): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    const buf = readFileSync(file);
    const h = wavHeader(buf);
    if ((h && h.riffSize === buf.length - 8) || Date.now() > until) return wavBufferSeconds(buf);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Length of a consent prompt as built in the sandbox. */
export function promptSeconds(lang: 'ar' | 'fr', prompt: string): number {
  return wavSeconds(resolve(sandbox().soundsDir, lang, 'consent-ivr', `${prompt}.wav`));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with the sandbox config and environment overrides; kills it after `ms`. */
export function runCli(args: string[], env: Record<string, string> = {}, ms = 20000): Promise<CliResult> {
  return new Promise((res) => {
    const proc = spawn(process.execPath, [resolve(REPO, 'dist/cli/main.js'), ...args], {
      cwd: REPO,
      env: {
        ...process.env,
        CONSENT_IVR_METRICS_PORT: '0',
      CONSENT_IVR_API_PORT: '0',
        CONSENT_IVR_PROMPTS_SOUNDS_DIR: sandbox().soundsDir,
        CONSENT_IVR_LEDGER_JOURNAL_PATH: resolve(sandbox().stateDir, 'journal', `cli-${randomUUID().slice(0, 8)}.jsonl`),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const t = setTimeout(() => proc.kill('SIGKILL'), ms);
    proc.once('exit', (code) => {
      clearTimeout(t);
      writeFileSync(resolve(sandbox().stateDir, 'logs', `app-cli-${proc.pid ?? 'x'}.log`), `${stdout}\n${stderr}`);
      res({ code, stdout, stderr });
    });
  });
}

/** Recording files of one call (named <uniqueid>.<format>), anywhere under the recordings directory. */
export function recordingsOf(uniqueId: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith(`${uniqueId}.`)) out.push(p);
    }
  };
  walk(sandbox().recordingsDir);
  return out;
}

/**
 * Places an outbound test call: the agent's side (Local/s@consent-test-out) dials a customer with
 * the outbound routine; the customer runs the caller script. The result is the ConsentTestOut user
 * event the agent's dialplan emits after Dial returned.
 */
export async function placeOutboundCall(ami: TestAmi, script: CallScript, resultTimeoutMs = 90000): Promise<{ testId: string; result: Promise<AmiEvent> }> {
  const testId = randomUUID().replace(/-/g, '').slice(0, 12);
  const vars: Record<string, string> = { __TESTID: testId };
  const keys: [string, string | number | undefined][] = [
    ['W1', script.w1],
    ['K1', script.k1],
    ['W2', script.w2],
    ['K2', script.k2],
    ['HANGUP_AFTER', script.hangupAfter],
    ['TALK', script.talk],
    ['W4', script.w4],
    ['K4', script.k4],
  ];
  // Inherited ("__"): the customer's channel is made by Dial, two channels away from the originate.
  for (const [k, v] of keys) if (v !== undefined) vars[`__${k}`] = String(v);
  if (script.app !== undefined) vars.__CONSENT_APP = script.app;
  const result = ami.waitFor((e) => e.event === 'UserEvent' && e.userevent === 'ConsentTestOut' && e.testid === testId, resultTimeoutMs, `outbound call ${testId}`);
  result.catch(() => undefined);
  await originateLocal(ami, 'consent-test-out', 'consent-test-agent-voice', vars);
  return { testId, result };
}

/** RMS level (0..1) of an audio file within a frequency band, with sox's band-pass filter. */
export function bandLevel(file: string, loHz: number, hiHz: number): number {
  const r = spawnSync('sox', [file, '-n', 'sinc', `${loHz}-${hiHz}`, 'stat'], { encoding: 'utf8' });
  const m = /RMS\s+amplitude:\s+([0-9.]+)/.exec(r.stderr);
  if (!m?.[1]) throw new Error(`sox stat gave no RMS amplitude for ${file}: ${r.stderr}`);
  return Number(m[1]);
}

/** sox's estimate of the dominant frequency of an audio file. */
export function roughFrequency(file: string): number {
  // `sox FILE -n stat` writes its report on stderr.
  const r = spawnSync('sox', [file, '-n', 'stat'], { encoding: 'utf8' });
  const m = /Rough\s+frequency:\s+(\d+)/.exec(r.stderr);
  if (!m?.[1]) throw new Error(`sox stat gave no frequency for ${file}: ${r.stderr}`);
  return Number(m[1]);
}
