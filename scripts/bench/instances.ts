/**
 * Several consent-ivr instances sharing one ledger, as an administrator would run them for more
 * simultaneous callers than one Node process serves (`--instances N`). Each instance has its own
 * Stasis application and journal; calls are dealt to them in turn (the benchmark's dialplan sets
 * CONSENT_APP per call). With one instance this is just that service.
 */
import { ServiceProcess, type LogLine, type StartOptions } from '../../test/support';
import { ProcSampler, rssMb } from './proc';

type Usage = ReturnType<ProcSampler['stop']>;

export class ServiceGroup {
  private constructor(
    readonly services: ServiceProcess[],
    readonly apps: string[],
  ) {
    this.onLine((l) => this.countProblems(l));
  }

  /** `count` instances named <runId>, or <runId>-1..N. */
  static async start(runId: string, base: StartOptions, count: number): Promise<ServiceGroup> {
    const apps = count === 1 ? [runId] : Array.from({ length: count }, (_, k) => `${runId}-${k + 1}`);
    const services: ServiceProcess[] = [];
    try {
      for (const name of apps) services.push(await ServiceProcess.start({ ...base, name, tailOnly: true }));
    } catch (e) {
      await Promise.all(services.map((s) => s.stop()));
      throw e;
    }
    return new ServiceGroup(services, apps);
  }

  /** The Stasis application of the i-th call. */
  appFor(i: number): string {
    return this.apps[i % this.apps.length] as string;
  }

  onLine(fn: (l: LogLine) => void): void {
    for (const s of this.services) s.onLine(fn);
  }

  /** The largest RSS of one instance (MB). */
  rssMb(): number | null {
    const v = this.services.map((s) => rssMb(s.pid)).filter((x): x is number => x !== null);
    return v.length ? Math.max(...v) : null;
  }

  /** The /metrics text of every instance. */
  async metrics(): Promise<string[]> {
    return Promise.all(this.services.map(async (s) => (await s.http('/metrics')).body));
  }

  /** Samples the CPU and RSS of every instance; stop() gives the CPU summed and the RSS of the largest. */
  sample(everyMs: number): { stop(): Usage } {
    const samplers = this.services.map((s) => new ProcSampler(s.pid, everyMs).start());
    return {
      stop: () => {
        const all = samplers.map((x) => x.stop());
        const sum = (f: (u: Usage) => number | null) => (all.some((u) => f(u) === null) ? null : all.reduce((a, u) => a + (f(u) as number), 0));
        const max = (f: (u: Usage) => number | null) => {
          const v = all.map(f).filter((x): x is number => x !== null);
          return v.length ? Math.max(...v) : null;
        };
        return {
          cpuSeconds: sum((u) => u.cpuSeconds),
          wallSeconds: max((u) => u.wallSeconds) ?? 0,
          cpuPercentOfOneCore: sum((u) => u.cpuPercentOfOneCore),
          rssPeakMb: max((u) => u.rssPeakMb),
          rssEndMb: max((u) => u.rssEndMb),
        };
      },
    };
  }

  /** Every warn/error line of the instances counted by level, message and error text (numbers blanked), and the first 50. */
  readonly problemCounts = new Map<string, number>();
  readonly warnings: LogLine[] = [];

  private countProblems(l: LogLine): void {
    if (l.level !== 'warn' && l.level !== 'error') return;
    if (this.warnings.length < 50) this.warnings.push(l);
    const detail = typeof l.error === 'string' ? l.error : typeof l.reason === 'string' ? l.reason : '';
    const key = `${String(l.level)}: ${String(l.message)}${detail ? ` (${detail})` : ''}`.replace(/\d+(\.\d+)?/g, '#');
    this.problemCounts.set(key, (this.problemCounts.get(key) ?? 0) + 1);
  }

  /** Stops every instance; the first non-zero exit code, else 0. */
  async stop(): Promise<number | null> {
    const codes = await Promise.all(this.services.map((s) => s.stop()));
    return codes.find((c) => c !== 0) ?? codes[0] ?? null;
  }
}
