/** The Grafana dashboard shipped in config/grafana asks only for metrics the service exports. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Metrics } from '../../src/observability/metrics';

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

test('Every query of the dashboard names metrics the service exports, and every panel has one', async () => {
  const dashboard = JSON.parse(readFileSync(resolve(__dirname, '../../config/grafana/consent-ivr.json'), 'utf8')) as { panels: Panel[]; uid: string };
  const metrics = new Metrics({ ari: () => 'up', ami: () => 'up', redis: () => 'up', journalBacklog: () => 0, activeCalls: () => 0 });
  const exported = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    exported.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(`${m.name}${s}`);
  }
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
  const unknown: { panel: string; metric: string }[] = [];
  for (const p of dashboard.panels) {
    expect({ panel: p.title, queries: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, queries: true });
    for (const t of p.targets ?? []) {
      const names = t.expr.match(/\bconsent_ivr_[a-z0-9_]+\b/g) ?? [];
      expect({ panel: p.title, expr: t.expr, names: names.length > 0 }).toEqual({ panel: p.title, expr: t.expr, names: true });
      for (const n of names) if (!exported.has(n)) unknown.push({ panel: p.title, metric: n });
    }
  }
  expect(unknown).toEqual([]);
});
