/**
 * Prometheus metrics and health endpoints on a loopback HTTP listener:
 * /metrics, /healthz (the process is alive), /readyz (ARI and AMI connected: calls can be served).
 * With port 0 the system picks a free port; `port` gives the one actually bound. As a call observer
 * (ports/observer.ts), it counts the calls' outcomes, decisions, ledger writes and their timings.
 */
import { createServer, Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallEnd, DecisionOutcome, ServiceObserver } from '../ports/observer';
import type { StoredIn } from '../ports/ledger';

export type LinkState = 'up' | 'down' | 'connecting' | 'closed';

export interface HealthSource {
  ari(): LinkState;
  ami(): LinkState;
  redis(): 'up' | 'down';
  journalBacklog(): number;
  activeCalls(): number;
  /** Appends that met another writer on this instance's log (0 when logs are not shared). */
  appendConflicts?(): number;
  /** Recordings waiting for their seal. */
  sealBacklog?(): number;
  /** The checkpointer refused to sign at its last attempt. */
  checkpointRefused?(): boolean;
  /** Event listeners per client library's emitter (ari, ami, redis). */
  listeners?(): Record<string, number>;
}

/** The calls in the flow, how they left it, and how long they took to decide and to leave. */
function callMetrics(registers: Registry[], health: HealthSource) {
  new Gauge({ name: 'consent_ivr_calls_in_flow', help: 'Calls currently in the consent flow', registers, collect() { this.set(health.activeCalls()); } });
  const outcomes = new Counter({ name: 'consent_ivr_calls_total', help: 'Calls that left the flow, by outcome and language', labelNames: ['outcome', 'lang'], registers });
  const latency = new Histogram({
    name: 'consent_ivr_flow_duration_seconds',
    help: 'Time from entering the flow to leaving it',
    labelNames: ['outcome'],
    buckets: [1, 2, 5, 10, 15, 20, 30, 45, 60, 90],
    registers,
  });
  const decisionLatency = new Histogram({
    name: 'consent_ivr_decision_seconds',
    help: 'Time from entering the flow to the caller\'s decision (or no-input)',
    labelNames: ['decision'],
    buckets: [2, 5, 10, 15, 20, 30, 45, 60],
    registers,
  });
  return { outcomes, latency, decisionLatency };
}

/** What the ledger was given: writes, pauses, withdrawals, deletions waiting, legal holds, and how soon recordings start. */
function recordMetrics(registers: Registry[]) {
  const ledgerWrites = new Counter({
    name: 'consent_ivr_ledger_writes_total',
    help: 'Ledger writes by kind and where they were stored (redis, journal: Redis missed its bound, failed: nowhere)',
    labelNames: ['kind', 'stored_in'],
    registers,
  });
  const pendingDeletions = new Gauge({
    name: 'consent_ivr_recording_deletions_pending',
    help: 'Recording deletions (erase, purge) waiting for the server that holds the recordings, by server',
    labelNames: ['server'],
    registers,
  });
  const pendingOldest = new Gauge({
    name: 'consent_ivr_recording_deletion_oldest_seconds',
    help: 'Age of the oldest recording deletion waiting for a server (0 when none); alert when a server has not done its deletions for a day',
    labelNames: ['server'],
    registers,
  });
  const legalHolds = new Gauge({
    name: 'consent_ivr_legal_holds',
    help: 'Legal holds in force (ledger hold): records and recordings kept from the purge and from erasure',
    registers,
  });
  const pauses = new Counter({
    name: 'consent_ivr_pauses_total',
    help: 'Pauses and resumes of a recording by the agent, taken into the ledger',
    labelNames: ['kind'],
    registers,
  });
  const withdrawals = new Counter({
    name: 'consent_ivr_withdrawals_total',
    help: 'Withdrawals of consent during the conversation taken into the ledger, by who withdrew',
    labelNames: ['by'],
    registers,
  });
  const recordingLatency = new Histogram({
    name: 'consent_ivr_recording_start_seconds',
    help: "Time from the caller's accept to MixMonitor confirmed started (decision stored, then the AMI action)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  return { ledgerWrites, pendingDeletions, pendingOldest, legalHolds, pauses, withdrawals, recordingLatency };
}

/** The links (ARI, AMI, Redis) and what waits behind them: the journal, the append conflicts, the unsealed recordings. */
function linkMetrics(registers: Registry[], health: HealthSource): void {
  const link = (name: string, help: string, read: () => string) =>
    new Gauge({ name, help, registers, collect() { this.set(read() === 'up' ? 1 : 0); } });
  link('consent_ivr_ari_connected', 'ARI websocket connected (1) or not (0)', () => health.ari());
  link('consent_ivr_ami_connected', 'AMI connected (1) or not (0)', () => health.ami());
  link('consent_ivr_redis_connected', 'Redis reachable (1) or not (0)', () => health.redis());
  new Gauge({
    name: 'consent_ivr_event_listeners',
    help: 'Event listeners on each client library (ari, ami, redis): flat over time, or something leaks',
    labelNames: ['emitter'],
    registers,
    collect() {
      for (const [emitter, n] of Object.entries(health.listeners?.() ?? {})) this.set({ emitter }, n);
    },
  });
  new Gauge({ name: 'consent_ivr_journal_backlog', help: 'Ledger entries waiting in the local journal', registers, collect() { this.set(health.journalBacklog()); } });
  new Counter({
    name: 'consent_ivr_ledger_append_conflicts_total',
    help: "Appends to this instance's log that had to be retried because another writer had moved its head",
    registers,
    collect() {
      const n = health.appendConflicts?.() ?? 0;
      this.reset();
      this.inc(n);
    },
  });
  new Gauge({ name: 'consent_ivr_recordings_unsealed', help: 'Recordings of this server waiting for their seal (the call goes on, or the file is not closed yet)', registers, collect() { this.set(health.sealBacklog?.() ?? 0); } });
}

/** The evidence: seals, checkpoints and their refusals, the log's regressions, queue entries set apart. */
function evidenceMetrics(registers: Registry[], health: HealthSource) {
  const seals = new Counter({ name: 'consent_ivr_recordings_sealed_total', help: 'Recordings sealed (SHA-256, size and duration in the ledger), by why they were closed', labelNames: ['reason'], registers });
  const checkpointTime = new Histogram({
    name: 'consent_ivr_checkpoint_seconds',
    help: 'Time to check the entries added since the last checkpoint and sign a new one',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  const refusals = new Counter({
    name: 'consent_ivr_checkpoint_refusals_total',
    help: "Checkpoints not signed because the log is not a consistent extension of what was signed (the host's checkpoint file): rewritten, truncated or lost in Redis",
    labelNames: ['log'],
    registers,
  });
  const regressions = new Counter({
    name: 'consent_ivr_ledger_regressions_total',
    help: "Times this instance found its log in Redis shorter than what it had written (Redis lost entries: a flush, a restart without persistence)",
    labelNames: ['log'],
    registers,
  });
  new Gauge({
    name: 'consent_ivr_checkpoint_refused',
    help: 'The last checkpoint attempt refused to sign (1) or not (0): see consent_ivr_checkpoint_refusals_total and the error log',
    registers,
    collect() {
      this.set(health.checkpointRefused?.() ? 1 : 0);
    },
  });
  const malformed = new Counter({
    name: 'consent_ivr_queue_entries_malformed_total',
    help: 'Queue entries set apart, each counted once: not one the service writes (bad JSON, wrong shape) or about a call whose record cannot be read; they stay in the queue and hold up nothing behind them',
    labelNames: ['queue'],
    registers,
  });
  // Every queue exports its series from the start (0), so an alert on its increase works at once.
  for (const queue of ['deletions', 'unsealed', 'withdrawals', 'pauses']) malformed.inc({ queue }, 0);
  return { seals, checkpointTime, refusals, regressions, malformed };
}

export class Metrics implements ServiceObserver {
  readonly registry = new Registry();
  private readonly outcomes: Counter<'outcome' | 'lang'>;
  private readonly latency: Histogram<'outcome'>;
  private readonly decisionLatency: Histogram<'decision'>;
  private readonly ledgerWrites: Counter<'kind' | 'stored_in'>;
  private readonly recordingLatency: Histogram;
  private readonly withdrawals: Counter<'by'>;
  private readonly pauses: Counter<'kind'>;
  private readonly pendingDeletions: Gauge<'server'>;
  private readonly pendingOldest: Gauge<'server'>;
  private readonly holdsInForce: Gauge;
  private readonly seals: Counter<'reason'>;
  private readonly checkpointTime: Histogram;
  private readonly refusals: Counter;
  private readonly regressions: Counter;
  private readonly malformed: Counter<'queue'>;
  private server: Server | null = null;

  constructor(private readonly health: HealthSource) {
    collectDefaultMetrics({ register: this.registry, prefix: 'consent_ivr_' });
    const registers = [this.registry];
    const calls = callMetrics(registers, health);
    this.outcomes = calls.outcomes;
    this.latency = calls.latency;
    this.decisionLatency = calls.decisionLatency;
    const records = recordMetrics(registers);
    this.ledgerWrites = records.ledgerWrites;
    this.pendingDeletions = records.pendingDeletions;
    this.pendingOldest = records.pendingOldest;
    this.holdsInForce = records.legalHolds;
    this.pauses = records.pauses;
    this.withdrawals = records.withdrawals;
    this.recordingLatency = records.recordingLatency;
    linkMetrics(registers, health);
    const evidence = evidenceMetrics(registers, health);
    this.seals = evidence.seals;
    this.checkpointTime = evidence.checkpointTime;
    this.refusals = evidence.refusals;
    this.regressions = evidence.regressions;
    this.malformed = evidence.malformed;
    const ready = () => this.ready().ready;
    new Gauge({ name: 'consent_ivr_ready', help: 'Calls can be served: ARI and AMI connected (1) or not (0); same as /readyz', registers, collect() { this.set(ready() ? 1 : 0); } });
  }

  /** The TCP port the listener is bound to (the real one when configured as 0); null before listen(). */
  get port(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }

  callEnded({ outcome, lang }: CallEnd, durationMs: number): void {
    this.outcomes.inc({ outcome, lang: lang ?? 'none' });
    this.latency.observe({ outcome }, durationMs / 1000);
  }

  decided(decision: DecisionOutcome, msSinceEntry: number): void {
    this.decisionLatency.observe({ decision }, msSinceEntry / 1000);
  }

  stored(kind: 'decision' | 'outcome', storedIn: StoredIn | 'failed'): void {
    this.ledgerWrites.inc({ kind, stored_in: storedIn });
  }

  deletionsPending(stats: { server: string; count: number; oldestAgeMs: number | null }[]): void {
    this.pendingDeletions.reset();
    this.pendingOldest.reset();
    for (const s of stats) {
      this.pendingDeletions.set({ server: s.server }, s.count);
      this.pendingOldest.set({ server: s.server }, (s.oldestAgeMs ?? 0) / 1000);
    }
  }

  legalHolds(count: number): void {
    this.holdsInForce.set(count);
  }

  paused(kind: string): void {
    this.pauses.inc({ kind });
  }

  withdrawn(by: string): void {
    this.withdrawals.inc({ by });
  }

  sealed(reason: string): void {
    this.seals.inc({ reason });
  }

  queueEntryMalformed(queue: string): void {
    this.malformed.inc({ queue });
  }

  checkpointSigned(ms: number): void {
    this.checkpointTime.observe(ms / 1000);
  }

  checkpointRefused(log: string): void {
    this.refusals.inc({ log });
  }

  ledgerRegressed(log: string): void {
    this.regressions.inc({ log });
  }

  recordingStarted(msSinceDecision: number): void {
    this.recordingLatency.observe(msSinceDecision / 1000);
  }

  ready(): { ready: boolean; ari: string; ami: string; redis: string; journalBacklog: number } {
    const h = this.health;
    return { ready: h.ari() === 'up' && h.ami() === 'up', ari: h.ari(), ami: h.ami(), redis: h.redis(), journalBacklog: h.journalBacklog() };
  }

  listen(host: string, port: number): Promise<Server> {
    const server = createServer((req, res) => {
      const send = (code: number, body: string, type = 'application/json') => {
        res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        send(405, JSON.stringify({ error: 'method not allowed' }));
        return;
      }
      // Probes and scrapers may add a query string (e.g. /metrics?name[]=...): route on the path.
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        this.registry.metrics().then((m) => send(200, m, this.registry.contentType), (e: Error) => send(500, e.message, 'text/plain'));
      } else if (path === '/healthz') {
        send(200, JSON.stringify({ ok: true }));
      } else if (path === '/readyz') {
        const r = this.ready();
        send(r.ready ? 200 : 503, JSON.stringify(r));
      } else {
        send(404, JSON.stringify({ error: 'not found' }));
      }
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.server = server;
        resolve(server);
      });
    });
  }
}
