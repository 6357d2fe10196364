/** Summary of a V8 .cpuprofile (node --cpu-prof): self time by function and by package. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  topFunctions: { name: string; where: string; selfMs: number; percentOfBusy: number }[];
  byPackage: { pkg: string; selfMs: number; percentOfBusy: number }[];
}

/** Where a frame's code comes from: a node_modules package, the app's own code, or Node itself. */
function packageOf(url: string, fn: string): string {
  if (url === '') return fn === '(idle)' ? '(idle)' : fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  const own = /\/dist\/([^/]+)\//.exec(url);
  if (own) return `consent-ivr/${own[1]}`;
  return url;
}

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fnTotals = new Map<string, { name: string; where: string; us: number }>();
  const pkgTotals = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const f = fnTotals.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    f.us += us;
    fnTotals.set(key, f);
    const pkg = packageOf(url, functionName);
    pkgTotals.set(pkg, (pkgTotals.get(pkg) ?? 0) + us);
  }
  const busy = Math.max(1, totalUs - idleUs);
  return {
    file,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    topFunctions: [...fnTotals.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, percentOfBusy: (100 * f.us) / busy })),
    byPackage: [...pkgTotals.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, us]) => ({ pkg, selfMs: us / 1000, percentOfBusy: (100 * us) / busy })),
  };
}
