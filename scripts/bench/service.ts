/**
 * The sandbox's coordinates, and the consent-ivr service started the way it runs in production
 * (`node dist/cli/main.js start`), with its own Stasis application name, metrics port, journal,
 * recordings folder and ledger key prefix so that a benchmark never mixes with other work.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO = resolve(__dirname, '../../../..');


export interface Sandbox {
  ari: { url: string; user: string; password: string; running: boolean };
  ami: { running: boolean };
  amiTest: { host: string; port: number; user: string; secret: string };
  redis: { url: string; running: boolean };
  recordingsDir: string;
  stateDir: string;
  soundsDir: string;
  asterisk?: { running: boolean; pid?: number };
}

export function sandboxStatus(): Sandbox {
  const s = JSON.parse(execFileSync('bash', [resolve(REPO, 'scripts/sandbox.sh'), 'status', '--json'], { encoding: 'utf8' })) as Sandbox;
  if (!s.ari.running || !s.ami.running || !s.redis.running) {
    throw new Error('the sandbox is not running: start it with `npm run sandbox:up`');
  }
  return s;
}

export function asteriskCli(command: string): string {
  return execFileSync('bash', [resolve(REPO, 'scripts/sandbox.sh'), 'cli', command], { encoding: 'utf8' });
}

export type LogLine = Record<string, unknown>;

export interface ServiceOptions {
  app: string;
  keyPrefix: string;
  journalPath: string;
  recordingDir: string;
  soundsDir: string;
  /** Directory for `node --cpu-prof` output; no profiling when unset. */
  cpuProfDir?: string;
  logLevel?: 'info' | 'debug';
  /** Patches from experiments/preload.ts, to measure a proposed src/ change (never the default). */
  experiments?: string[];
  /** Where the trace-ledger experiment writes its timings. */
  traceFile?: string;
}

export class BenchService {
  readonly warnings: LogLine[] = [];
  /** Every warn/error line counted by level, message and error text (numbers blanked). */
  readonly problemCounts = new Map<string, number>();
  readonly tail: string[] = [];
  private buf = '';
  private handlers: ((l: LogLine) => void)[] = [];
  private readonly exited: Promise<number | null>;
  metricsPort = 0;

  private constructor(
    readonly opts: ServiceOptions,
    readonly proc: ChildProcess,
  ) {
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (c: string) => this.onData(c));
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (c: string) => this.keep(`stderr: ${c}`));
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  static async start(opts: ServiceOptions): Promise<BenchService> {
    const nodeArgs = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
    if (opts.experiments?.length) nodeArgs.push('-r', resolve(__dirname, 'experiments/preload.js'));
    const proc = spawn(process.execPath, [...nodeArgs, resolve(REPO, 'dist/cli/main.js'), 'start', '--config', resolve(REPO, 'config/sandbox.yaml')], {
      cwd: REPO,
      env: {
        ...process.env,
        CONSENT_IVR_ARI_APP: opts.app,
        CONSENT_IVR_METRICS_PORT: '0',
        CONSENT_IVR_API_PORT: '0',
        CONSENT_IVR_LOGGING_LEVEL: opts.logLevel ?? 'info',
        CONSENT_IVR_LOGGING_FORMAT: 'json',
        CONSENT_IVR_PROMPTS_SOUNDS_DIR: opts.soundsDir,
        CONSENT_IVR_LEDGER_JOURNAL_PATH: opts.journalPath,
        CONSENT_IVR_REDIS_KEY_PREFIX: opts.keyPrefix,
        CONSENT_IVR_LEDGER_LOG: opts.app,
        CONSENT_IVR_LEDGER_CHECKPOINT_FILE: `${opts.journalPath}.checkpoints`,
        CONSENT_IVR_RECORDING_DIR: opts.recordingDir,
        BENCH_EXPERIMENTS: (opts.experiments ?? []).join(','),
        BENCH_TRACE_FILE: opts.traceFile ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const svc = new BenchService(opts, proc);
    const ready = new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`consent-ivr was not ready within 30 s:\n${svc.tail.join('\n')}`)), 30000);
      svc.onLine((l) => {
        if (l.message === 'metrics listening') svc.metricsPort = Number(l.port);
        if (l.message === 'consent-ivr ready') {
          clearTimeout(t);
          res();
        }
      });
      void svc.exited.then((code) => {
        clearTimeout(t);
        rej(new Error(`consent-ivr exited with ${code} before it was ready:\n${svc.tail.join('\n')}`));
      });
    });
    await ready;
    if (!(svc.metricsPort > 0)) {
      await svc.stop();
      throw new Error('consent-ivr did not log the port its metrics listener is bound to ("metrics listening" with port > 0)');
    }
    return svc;
  }

  onLine(fn: (l: LogLine) => void): void {
    this.handlers.push(fn);
  }

  private keep(raw: string): void {
    this.tail.push(raw);
    if (this.tail.length > 200) this.tail.shift();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      const raw = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      this.keep(raw);
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { level: 'unparsed', message: raw };
      }
      if (line.level === 'warn' || line.level === 'error') {
        if (this.warnings.length < 2000) this.warnings.push(line);
        const detail = typeof line.error === 'string' ? line.error : typeof line.reason === 'string' ? line.reason : '';
        const key = `${String(line.level)}: ${String(line.message)}${detail ? ` (${detail})` : ''}`.replace(/\d+(\.\d+)?/g, '#');
        this.problemCounts.set(key, (this.problemCounts.get(key) ?? 0) + 1);
      }
      for (const h of this.handlers) h(line);
    }
  }

  /** GET on the service's metrics listener. */
  async http(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  }

  /** SIGTERM, then waits for the exit (the service drains its calls first). */
  async stop(): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGTERM');
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), 30000);
    const code = await this.exited;
    clearTimeout(killer);
    return code;
  }
}

/** Value of one Prometheus sample, e.g. metric('consent_ivr_calls_total', {outcome: 'accepted'}), summed over other labels. */
export function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have[kv[1] as string] = kv[2] as string;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}
