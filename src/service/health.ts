/**
 * What the metrics read of the service's parts. The metrics are made first (every part reports to
 * them from its start); the parts they read are bound once all exist, and read only when scraped.
 */
import type { HealthSource } from '../observability/metrics';

export interface BoundHealth extends HealthSource {
  bind(parts: HealthSource): void;
}

export function healthOfParts(): BoundHealth {
  let parts: HealthSource | null = null;
  return {
    bind: (p) => {
      parts = p;
    },
    ari: () => parts?.ari() ?? 'connecting',
    ami: () => parts?.ami() ?? 'connecting',
    redis: () => parts?.redis() ?? 'down',
    journalBacklog: () => parts?.journalBacklog() ?? 0,
    activeCalls: () => parts?.activeCalls() ?? 0,
    appendConflicts: () => parts?.appendConflicts?.() ?? 0,
    sealBacklog: () => parts?.sealBacklog?.() ?? 0,
    checkpointRefused: () => parts?.checkpointRefused?.() ?? false,
    listeners: () => parts?.listeners?.() ?? {},
  };
}
