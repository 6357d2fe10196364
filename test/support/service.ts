/**
 * consent-ivr started through its real entry point (`node dist/cli/main.js start`) with the sandbox
 * configuration, each instance with its own Stasis application, journal and ledger log so that tests
 * and benchmark runs never take each other's calls; and the CLI run the same way.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { shebangNodeOptions } from './node-options';
import { REPO, sandbox } from './sandbox';
import { Seen } from './wait';

export type LogLine = Record<string, unknown>;

/** The environment every run of the built CLI gets: ephemeral ports, the sandbox's prompts, its own journal. */
function baseEnv(name: string): Record<string, string> {
  const s = sandbox();
  return {
    CONSENT_IVR_METRICS_PORT: '0',
    CONSENT_IVR_API_PORT: '0',
    CONSENT_IVR_PROMPTS_SOUNDS_DIR: s.soundsDir,
    CONSENT_IVR_LEDGER_JOURNAL_PATH: resolve(s.stateDir, 'journal', `${name}.jsonl`),
  };
}

/** The built CLI, and the node options its first line (`#!/usr/bin/env -S node …`) gives it when run as `consent-ivr`. */
const CLI = resolve(REPO, 'dist/cli/main.js');
let binFlags: string[] | undefined;

/** Runs the CLI as its bin file runs it: with the node options of its first line, then the caller's. */
function cliArgs(nodeArgs: string[], args: string[]): string[] {
  binFlags ??= shebangNodeOptions(readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '');
  return [...binFlags, ...nodeArgs, CLI, ...args];
}

export interface StartOptions {
  /** Stasis application (ari.app), also the ledger log's name; calls reach it with `{ app }`. */
  name?: string;
  env?: Record<string, string>;
  /** Options for node itself (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Keep only the last 200 output lines (long benchmark runs). */
  tailOnly?: boolean;
  /** Configuration file (default: config/sandbox.yaml); one of a test's own extends it. */
  config?: string;
}

/** Every instance started by this process and still running, so none outlives a failed test. */
const running = new Set<ServiceProcess>();

export class ServiceProcess {
  readonly raw: string[] = [];
  private readonly seen: Seen<LogLine>;
  /** The port the metrics listener is bound to, once logged. */
  metricsPort = 0;
  private buf = '';
  private handlers: ((l: LogLine) => void)[] = [];
  private readonly exited: Promise<number | null>;

  /** The instance's checkpoint file (ledger.checkpointFile), its host's ground truth of what it signed. */
  get checkpointFile(): string {
    return resolve(sandbox().stateDir, 'journal', `${this.name}.checkpoints.jsonl`);
  }

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    private readonly tailOnly: boolean,
  ) {
    this.seen = new Seen<LogLine>(tailOnly ? 200 : true, () => `; last lines:\n${this.raw.slice(-15).join('\n')}`);
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
    proc.stdout?.on('data', (c: Buffer) => this.onData(c.toString('utf8')));
    proc.stderr?.on('data', (c: Buffer) => this.keep(`stderr: ${c.toString('utf8')}`));
    running.add(this);
    proc.once('exit', () => running.delete(this));
  }

  /** Starts an instance and resolves once it logged "consent-ivr ready". */
  static async start(opts: StartOptions = {}): Promise<ServiceProcess> {
    const name = opts.name ?? `civr-${randomUUID().slice(0, 8)}`;
    const journal = resolve(sandbox().stateDir, 'journal', name);
    const proc = spawn(process.execPath, cliArgs(opts.nodeArgs ?? [], ['start', '--config', opts.config ?? resolve(REPO, 'config/sandbox.yaml')]), {
      cwd: REPO,
      env: {
        ...process.env,
        ...baseEnv(name),
        CONSENT_IVR_LOGGING_LEVEL: 'debug',
        CONSENT_IVR_ARI_APP: name,
        CONSENT_IVR_LEDGER_LOG: name,
        CONSENT_IVR_LEDGER_CHECKPOINT_FILE: `${journal}.checkpoints.jsonl`,
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const svc = new ServiceProcess(name, proc, opts.tailOnly ?? false);
    svc.onLine((l) => {
      if (l.message === 'metrics listening') svc.metricsPort = Number(l.port);
    });
    await Promise.race([
      svc.waitForLog((l) => l.message === 'consent-ivr ready', 30000, 'the service to be ready'),
      svc.exited.then((code) => {
        throw new Error(`consent-ivr exited with ${code} before it was ready:\n${svc.raw.join('\n')}`);
      }),
    ]);
    return svc;
  }

  /** Kills what a failed test left running (keeping its output). */
  static async killLeftovers(): Promise<void> {
    await Promise.all([...running].map((s) => s.stop('SIGKILL')));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  onLine(fn: (l: LogLine) => void): void {
    this.handlers.push(fn);
  }

  /** The log lines so far (JSON; a line that is not has `unparsed: true`). */
  get lines(): LogLine[] {
    return this.seen.items;
  }

  private keep(raw: string): void {
    this.raw.push(raw);
    if (this.tailOnly && this.raw.length > 200) this.raw.shift();
  }

  private onData(chunk: string): void {
    const parts = (this.buf + chunk).split('\n');
    this.buf = parts.pop() ?? '';
    for (const raw of parts) {
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { message: raw, unparsed: true };
      }
      this.keep(raw);
      for (const h of this.handlers) h(line);
      this.seen.add(line);
    }
  }

  /** Resolves with the first log line (already seen or coming) that matches, or rejects after `ms`. */
  waitForLog(match: (l: LogLine) => boolean, ms: number, what: string): Promise<LogLine> {
    return this.seen.waitFor(match, ms, what);
  }

  /** The log lines of one call (their `call` field: the UNIQUEID of its channel in Stasis). */
  callLines(uniqueId: string): LogLine[] {
    return this.lines.filter((l) => l.call === uniqueId);
  }

  /** The "consent flow ended" line of one call (outcome, reason, lang), once logged. */
  callEnded(uniqueId: string, ms = 90000): Promise<LogLine> {
    return this.waitForLog((l) => l.call === uniqueId && l.message === 'consent flow ended', ms, `the end of the flow of ${uniqueId}`);
  }

  /** One sample of /metrics, summed over the labels not given (see promValue). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return promValue((await this.http('/metrics')).body, name, labels);
  }

  /** GET on the metrics listener. */
  async http(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  }

  /** Strings of the output that must never be there: the sandbox secrets and the given values. */
  leaks(forbidden: string[] = []): string[] {
    const dir = resolve(sandbox().stateDir, 'secrets');
    const secrets = readdirSync(dir).map((f) => readFileSync(resolve(dir, f), 'utf8').trim());
    const text = this.raw.join('\n');
    return [...secrets, sandbox().ari.password, sandbox().ami.secret, ...forbidden].filter((s) => s.length >= 4 && text.includes(s));
  }

  /** Keeps the output in the sandbox's logs folder, to read after the run. */
  saveLog(label = `${this.name}-${this.pid}`): void {
    writeFileSync(resolve(sandbox().stateDir, 'logs', `app-${label}.log`), `${this.raw.join('\n')}\n`);
  }

  /** Sends a signal without waiting (SIGHUP: reload the configuration). */
  signal(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  /** Sends `signal` (SIGTERM: the service drains its calls first; SIGKILL after 30 s), waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), 30000);
    const code = await this.exited;
    clearTimeout(killer);
    this.saveLog();
    return code;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The checkpoint file the CLI reads as its host's (ledger.checkpointFile), one per ledger (key prefix):
 * the sandbox's ledgers share one Redis, and a host's file is of one ledger.
 */
export function cliCheckpointFile(prefix: string | undefined): string {
  return resolve(sandbox().stateDir, 'journal', `cli-${(prefix ?? 'default').replace(/[^A-Za-z0-9._-]/g, '_')}.checkpoints.jsonl`);
}

/** Runs the built CLI with the sandbox config and environment overrides; kills it after `ms`. */
export function runCli(args: string[], env: Record<string, string> = {}, ms = 20000): Promise<CliResult> {
  return new Promise((res) => {
    const proc = spawn(process.execPath, cliArgs([], args), {
      cwd: REPO,
      env: { ...process.env, ...baseEnv(`cli-${randomUUID().slice(0, 8)}`), CONSENT_IVR_LEDGER_CHECKPOINT_FILE: cliCheckpointFile(env.CONSENT_IVR_REDIS_KEY_PREFIX), ...env },
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

/** Value of one Prometheus sample, e.g. promValue(text, 'consent_ivr_calls_total', { outcome: 'accepted' }), summed over other labels. */
export function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[kv[1] as string] = kv[2] as string;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

/** A service instance of a test: `startApp(env, name)`. */
export type RunningApp = ServiceProcess;
export const startApp = (env: Record<string, string> = {}, name?: string): Promise<ServiceProcess> => ServiceProcess.start({ env, ...(name ? { name } : {}) });

/** The event types a service instance acts on, which it asks Asterisk to limit its application to. */
export const EVENTS_ACTED_ON = ['ChannelDestroyed', 'ChannelDtmfReceived', 'ChannelHangupRequest', 'PlaybackFinished', 'StasisEnd', 'StasisStart'];
