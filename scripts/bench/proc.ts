/** CPU time and resident memory of a process, read from /proc/<pid> (Linux). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds the process has used so far, or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return null;
  }
}

/** Resident set size in MB (VmRSS), or null when the process is gone. */
export function rssMb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Number of threads of the process (Asterisk: one or more per channel). */
export function threads(pid: number): number | null {
  try {
    const m = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export interface ProcSample {
  /** Epoch ms. */
  t: number;
  rssMb: number | null;
  cpuS: number | null;
}

/** Samples a process every `everyMs` until stopped: peak RSS, CPU used over the window. */
export class ProcSampler {
  readonly samples: ProcSample[] = [];
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

  take(): ProcSample {
    const s = { t: Date.now(), rssMb: rssMb(this.pid), cpuS: cpuSeconds(this.pid) };
    this.samples.push(s);
    return s;
  }

  stop(): { cpuSeconds: number | null; wallSeconds: number; cpuPercentOfOneCore: number | null; rssPeakMb: number | null; rssEndMb: number | null } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
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

/** Whole-machine CPU counters (all cores, seconds): busy and total, from /proc/stat. */
export function machineCpu(): { busyS: number; totalS: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const hz = clockTicks();
    return { busyS: (total - idle) / hz, totalS: total / hz };
  } catch {
    return null;
  }
}

/** 1-minute load average. */
export function loadAverage(): number | null {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}
