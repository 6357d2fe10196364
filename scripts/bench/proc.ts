/** CPU time, resident memory and threads of a process, and the machine's CPU, read from /proc (Linux). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const HZ = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The value of `read()`, or null when the file is gone (the process exited). */
function maybe<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

const status = (pid: number, field: string) => maybe(() => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN));

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number | null {
  return maybe(() => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ;
  });
}

/** Resident set size in MB (VmRSS). */
export const rssMb = (pid: number): number | null => {
  const kb = status(pid, 'VmRSS');
  return kb === null || Number.isNaN(kb) ? null : kb / 1024;
};

/** Number of threads (Asterisk: one or more per channel). */
export const threads = (pid: number): number | null => status(pid, 'Threads');

/** Whole-machine CPU counters (all cores, seconds): busy and total, from /proc/stat. */
export function machineCpu(): { busyS: number; totalS: number } | null {
  return maybe(() => {
    const v = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busyS: (total - (v[3] ?? 0) - (v[4] ?? 0)) / HZ, totalS: total / HZ };
  });
}

/** Samples a process every `everyMs` until stopped: CPU used over the window, peak and last RSS. */
export class ProcSampler {
  private readonly samples: { t: number; rssMb: number | null; cpuS: number | null }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly pid: number,
    private readonly everyMs = 500,
  ) {}

  start(): this {
    this.take();
    this.timer = setInterval(() => this.take(), this.everyMs);
    this.timer.unref();
    return this;
  }

  private take() {
    const s = { t: Date.now(), rssMb: rssMb(this.pid), cpuS: cpuSeconds(this.pid) };
    this.samples.push(s);
    return s;
  }

  stop(): { cpuSeconds: number | null; wallSeconds: number; cpuPercentOfOneCore: number | null; rssPeakMb: number | null; rssEndMb: number | null } {
    if (this.timer) clearInterval(this.timer);
    const last = this.take();
    const first = this.samples[0] ?? last;
    const wall = (last.t - first.t) / 1000;
    const cpu = first.cpuS !== null && last.cpuS !== null ? last.cpuS - first.cpuS : null;
    const rss = this.samples.map((s) => s.rssMb).filter((v): v is number => v !== null);
    return {
      cpuSeconds: cpu,
      wallSeconds: wall,
      cpuPercentOfOneCore: cpu !== null && wall > 0 ? (100 * cpu) / wall : null,
      rssPeakMb: rss.length ? Math.max(...rss) : null,
      rssEndMb: last.rssMb,
    };
  }
}
