/**
 * `consent-ivr ledger …`: show, list, export, verify, erase and purge the consent ledger.
 *
 * Each command is a function taking the configuration (run*), so it can be tested without a process;
 * they stream (bounded memory), write results to stdout, and show progress on stderr only when stderr is
 * a terminal. Exit codes: 0 ok, 1 verification break or operational failure, 2 bad usage.
 * A caller number given to `erase` is never printed or logged.
 */
import { once } from 'node:events';
import { Command, Option } from 'commander';
import { RedisConfigError } from '../adapters/redis';
import { withLedgerStore } from '../service/ledger';
import type { Config } from '../config/schema';
import { OUTCOMES, type Outcome } from '../domain/vocabulary';
import { eraseCaller, pendingByServer, purgeLedger, waitingTotal } from '../retention';
import { adminContextDefaults, AdminUsageError, listRecords, findRecord, type AdminContext, csvHeader, csvRow, jsonlRow, printable, TEXT_HEADER, textRecord, textRow, parseStoredRecord, toStored } from '../ledger';
import { parseSigner, verifierOf, type SignerKey, type VerifierKey, Checkpointer, type SignResult, collectEvidence, EvidenceError, proveConsistency, KeyFileError, readVerifierFiles, readCheckpointFile, verifyLedger, type VerifyReport } from '../evidence';
import { writeOutputFile } from '../files/output-file';
import type { MalformedEntry, AdminStore } from '../ledger';
import { createLogger } from '../observability/logger';
import { systemClock } from '../ports/clock';

export interface CliStream {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  isTTY?: boolean;
}

export interface CliIO {
  stdout: CliStream;
  stderr: CliStream;
  /** For `erase --caller -`. */
  stdin?: NodeJS.ReadableStream;
}

export interface CliDeps {
  io?: CliIO;
  /** The clock of erase and purge (tests move it). */
  now?: () => Date;
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };

export async function out(stream: CliStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream as unknown as NodeJS.EventEmitter, 'drain');
}

/** Progress on stderr, only when it is a terminal; at most ~5 updates a second. */
export function progress(io: CliIO, label: string): { tick(n: number): void; end(): void } {
  if (!io.stderr.isTTY) return { tick: () => undefined, end: () => undefined };
  let last = 0;
  let shown = false;
  return {
    tick(n) {
      const t = Date.now();
      if (t - last < 200) return;
      last = t;
      shown = true;
      io.stderr.write(`\r${label}: ${n}`);
    },
    end() {
      if (shown) io.stderr.write('\n');
    },
  };
}

// ------------------------------------------------------------------------------------ option parsing

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** ISO 8601 date or date-time; a date alone or a time without zone is taken as UTC. */
export function parseTimeOption(name: string, value: string): number {
  const m = DATE_RE.exec(value.trim());
  const bad = () =>
    new UsageError(`${name}: "${printable(value)}" is not a date; use ISO 8601, e.g. 2025-01-31 or 2025-01-31T08:00:00Z (a date or time without zone is UTC)`);
  if (!m) throw bad();
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const zone = m[7];
  const text = `${y}-${mo}-${d}T${h}:${mi}:${s}${value.trim().match(/\.\d{1,3}/)?.[0] ?? ''}${zone ? (zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z'}`;
  const ms = Date.parse(text);
  // Date.parse rolls 2025-02-30 over to March: check the fields survived.
  const check = new Date(Date.parse(`${y}-${mo}-${d}T00:00:00Z`));
  if (!Number.isFinite(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() + 1 !== Number(mo) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw bad();
  }
  return ms;
}

export function timeRange(o: { since?: string; until?: string }): { fromMs: number; toMs: number } {
  const fromMs = o.since === undefined ? -Infinity : parseTimeOption('--since', o.since);
  const toMs = o.until === undefined ? Infinity : parseTimeOption('--until', o.until);
  if (fromMs >= toMs) throw new UsageError('--since must be before --until');
  return { fromMs, toMs };
}

function parseOutcome(v: string | undefined): Outcome | undefined {
  if (v === undefined) return undefined;
  if (!(OUTCOMES as readonly string[]).includes(v)) throw new UsageError(`--outcome: "${printable(v)}" is not one of ${OUTCOMES.join(', ')}`);
  return v as Outcome;
}

// ----------------------------------------------------------------------------------------- plumbing

export function context(config: Config, store: AdminStore, deps: CliDeps, onProgress?: (n: number) => void): AdminContext {
  return {
    ...adminContextDefaults,
    store,
    now: deps.now ?? (() => new Date()),
    serverId: config.server.id,
    recordingDir: config.recording.dir,
    retentionDays: config.ledger.retentionDays,
    pseudonymKey: config.secrets.pseudonymKey,
    progress: onProgress,
  };
}

/** Runs a command body and turns its failure into a message and an exit code. */
export async function run(io: CliIO, command: string, body: () => Promise<number>, group = 'ledger '): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof AdminUsageError || e instanceof RedisConfigError || e instanceof KeyFileError;
    if (e instanceof EvidenceError) {
      io.stderr.write(`consent-ivr ${group}${command}: ${printable(e.message)}\n`);
      return EXIT.failure;
    }
    io.stderr.write(`consent-ivr ${group}${command}: ${printable(e instanceof Error ? e.message : String(e))}\n`);
    return usage ? EXIT.usage : EXIT.failure;
  }
}

// --------------------------------------------------------------------------------------- commands

export function runShow(config: Config, uniqueId: string, opts: { json?: boolean }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'show', () =>
    withLedgerStore(config, async (store) => {
      const row = (await findRecord(store, uniqueId))?.row;
      if (!row) {
        io.stderr.write(`consent-ivr ledger show: no record for uniqueid ${printable(uniqueId)}\n`);
        return EXIT.failure;
      }
      const rec = parseStoredRecord(row.json);
      await out(io.stdout, opts.json ? `${JSON.stringify({ ...toStored(rec), chainSeq: row.seq }, null, 2)}\n` : textRecord(rec, { seq: row.seq }));
      return EXIT.ok;
    }),
  );
}

export interface ListOptions {
  since?: string;
  until?: string;
  outcome?: string;
  json?: boolean;
}

export function runList(config: Config, opts: ListOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'list', async () => {
    const range = timeRange(opts);
    const outcome = parseOutcome(opts.outcome);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records read');
      let n = 0;
      if (opts.json) await out(io.stdout, '[');
      else await out(io.stdout, TEXT_HEADER);
      for await (const recs of listRecords(context(config, store, deps, p.tick), { ...range, outcome })) {
        for (const r of recs) {
          await out(io.stdout, opts.json ? `${n === 0 ? '\n' : ',\n'}${JSON.stringify(toStored(r))}` : textRow(r));
          n += 1;
        }
      }
      if (opts.json) await out(io.stdout, n === 0 ? ']\n' : '\n]\n');
      p.end();
      if (!opts.json && io.stderr.isTTY) io.stderr.write(`${n} record(s)\n`);
      return EXIT.ok;
    });
  });
}

export interface ExportOptions {
  format: string;
  since?: string;
  until?: string;
}

export function runExport(config: Config, opts: ExportOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'export', async () => {
    if (opts.format !== 'csv' && opts.format !== 'jsonl') throw new UsageError(`--format: "${printable(opts.format)}" is not csv or jsonl`);
    const range = timeRange(opts);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records exported');
      if (opts.format === 'csv') await out(io.stdout, csvHeader());
      for await (const recs of listRecords(context(config, store, deps, p.tick), range)) {
        await out(io.stdout, recs.map(opts.format === 'csv' ? csvRow : jsonlRow).join(''));
      }
      p.end();
      return EXIT.ok;
    });
  });
}

/**
 * The signing key, when this host has it: the loader reads it as an optional secret (environment,
 * systemd credential or ledger.signingKeyFile); null otherwise.
 */
export function optionalSigner(config: Config): SignerKey | null {
  if (!config.secrets.signingKey.trim()) return null;
  try {
    return parseSigner(config.secrets.signingKey);
  } catch (e) {
    throw new KeyFileError(`ledger.signingKeyFile: ${config.ledger.signingKeyFile} is not a checkpoint signing key (${(e as Error).message})`);
  }
}

/** The public keys checkpoints are checked with: --key files, ledger.trustedKeyFiles and the signing key's. */
export function trustedKeys(config: Config, extra: readonly string[] = []): VerifierKey[] {
  const keys = readVerifierFiles([...extra, ...config.ledger.trustedKeyFiles]);
  const signer = optionalSigner(config);
  if (signer) keys.push(verifierOf(signer));
  return keys;
}

export interface VerifyCliOptions {
  json?: boolean;
  checkpoint?: string[];
  key?: string[];
  recordings?: boolean;
}

function verifyText(report: VerifyReport): string {
  const lines: string[] = [];
  for (const l of report.logs) {
    const c = l.chain;
    const span = c.head ? `seq ${(c.anchor?.seq ?? 0) + 1}–${c.head.seq}` : 'empty';
    lines.push(`log ${l.log === '' ? '(before per-instance logs)' : printable(l.log)}:`);
    lines.push(
      c.ok
        ? `  chain: OK, ${c.entries} entries (${span})${c.anchor ? `, trimmed before seq ${c.anchor.seq + 1}` : ''}; head ${c.head?.hash ?? '-'}`
        : `  chain: BROKEN (${c.break?.kind ?? '?'}): ${printable(c.break?.message ?? '')}`,
    );
    if (l.acceptedLoss) {
      const a = l.acceptedLoss;
      lines.push(
        `  LOSS ACCEPTED at ${a.at ?? '?'}: ${a.signed} entries had been signed; signing went on from the log's ${a.size} entries` +
          `${a.reason ? ` (reason: ${printable(a.reason)})` : ''}; ${a.checkpointsBefore} earlier checkpoint(s) of this host and Redis not compared`,
      );
    }
    if (l.loss) {
      const where = l.loss.source === 'ledger' ? 'kept in the ledger' : printable(l.loss.source);
      lines.push(
        `  LOST: ${l.loss.signed} entries were signed (${where}); the log now holds ${l.loss.now}${l.loss.rewritten ? ' that do not extend them' : ''}: ` +
          `Redis lost entries ${l.loss.rewritten ? 'and the log started again' : `${l.loss.now + 1}–${l.loss.signed}`}, or someone removed or rewrote them`,
      );
    }
    const cp = l.checkpoints;
    const latest = cp.latest ? `; latest: ${cp.latest.size} entries, signed by ${cp.latest.signedBy.map(printable).join(', ')}` : '';
    lines.push(
      cp.problems.length === 0
        ? `  checkpoints: OK, ${cp.checked} consistent with the log${cp.beforeTrim ? `, ${cp.beforeTrim} of purged entries (signature checked)` : ''}${latest}`
        : `  checkpoints: ${cp.problems.length} problem(s)${latest}`,
    );
    for (const p of cp.problems) lines.push(`    ${p.kind.toUpperCase()}${p.size !== null ? ` (checkpoint of ${p.size} entries, ${p.source === 'ledger' ? 'kept in the ledger' : printable(p.source)})` : ` (${printable(p.source)})`}: ${printable(p.message)}`);
    lines.push(
      l.records.problem
        ? `  records: BROKEN${l.records.problems > 1 ? ` (${l.records.problems} problems; the first)` : ''}: ${printable(l.records.problem.message)}`
        : `  records: OK, ${l.records.checked} checked against the chain${l.records.unverifiable ? `, ${l.records.unverifiable} older than the chain's start` : ''}`,
    );
  }
  for (const p of report.checkpointProblems) lines.push(`checkpoint ${p.kind.toUpperCase()} (${printable(p.source)}): ${printable(p.message)}`);
  const r = report.recordings;
  if (r) {
    const bad = r.changed.length + r.missing.length + r.unexpected.length;
    lines.push(
      `recordings of server ${printable(r.server)}: ${bad === 0 ? 'OK' : 'PROBLEMS'}, ${r.intact} intact` +
        `${r.expectedMissing.length ? `, ${r.expectedMissing.length} removed on purpose` : ''}${r.waiting ? `, ${r.waiting} waiting for their seal or deletion` : ''}`,
    );
    const list = (label: string, items: { uniqueId: string | null; file: string; message: string }[]) => {
      for (const f of items.slice(0, 200)) lines.push(`  ${label} ${f.uniqueId ? `call ${printable(f.uniqueId)} ` : ''}${printable(f.file)}: ${printable(f.message)}`);
      if (items.length > 200) lines.push(`  … and ${items.length - 200} more ${label.toLowerCase()}`);
    };
    list('CHANGED', r.changed);
    list('MISSING', r.missing);
    list('UNEXPECTED', r.unexpected);
    list('expected missing:', r.expectedMissing);
  }
  lines.push(report.ok ? 'ledger verified' : 'ledger verification FAILED');
  return `${lines.join('\n')}\n`;
}

export function runVerify(config: Config, opts: VerifyCliOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'verify', async () => {
    const keys = trustedKeys(config, opts.key);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'entries checked');
      const report = await verifyLedger(context(config, store, deps, p.tick), {
        keys,
        checkpointFiles: opts.checkpoint ?? [],
        hostCheckpointFile: config.ledger.checkpointFile,
        checkpointIntervalMs: config.ledger.checkpointIntervalMs,
        recordings: opts.recordings ?? false,
        recordingFormat: config.recording.format,
      });
      p.end();
      await out(io.stdout, opts.json ? `${JSON.stringify(report, null, 2)}\n` : verifyText(report));
      return report.ok ? EXIT.ok : EXIT.failure;
    });
  });
}

/** Signs a checkpoint of every log that grew since its last one (needs the signing key). */
async function signAll(config: Config, store: AdminStore, signer: SignerKey, keys: VerifierKey[]): Promise<{ log: string; result: SignResult }[]> {
  const out: { log: string; result: SignResult }[] = [];
  const quiet = createLogger({ level: 'error', format: 'text' }, process.stderr);
  for (const log of await store.logs()) {
    const cp = new Checkpointer(store.forLog(log), signer, {
      intervalMs: config.ledger.checkpointIntervalMs,
      file: config.ledger.checkpointFile,
      clock: systemClock,
      logger: quiet,
      trusted: keys,
    });
    out.push({ log, result: await cp.signNow() });
  }
  return out;
}

export function runCheckpoint(config: Config, opts: { out?: string; sign?: boolean }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'checkpoint', async () => {
    const keys = trustedKeys(config);
    const signer = opts.sign === false ? null : optionalSigner(config);
    return withLedgerStore(config, async (store) => {
      let refused = 0;
      if (signer) {
        for (const { log, result } of await signAll(config, store, signer, keys)) {
          if (result.status === 'skipped') io.stderr.write(`log ${printable(log)}: not signed: ${printable(result.reason)}\n`);
          if (result.status === 'refused') {
            refused += 1;
            io.stderr.write(`log ${printable(log)}: REFUSED to sign: ${printable(result.reason)}\n`);
          }
        }
      }
      const lines: string[] = [];
      for (const log of await store.logs()) {
        const last = await store.forLog(log).latestCheckpoint();
        if (last) lines.push(JSON.stringify({ at: new Date().toISOString(), log, size: last.size, note: last.note }));
      }
      const text = lines.length ? `${lines.join('\n')}\n` : '';
      if (opts.out) {
        writeOutputFile(opts.out, text, 0o644);
        io.stderr.write(`${lines.length} checkpoint(s) written to ${printable(opts.out)}\n`);
      } else await out(io.stdout, text);
      if (lines.length === 0) io.stderr.write('no checkpoint yet (the service signs one while entries are added)\n');
      return refused > 0 ? EXIT.failure : EXIT.ok;
    });
  });
}

export function runEvidence(config: Config, uniqueId: string, opts: { out: string; key?: string[] }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'evidence', async () => {
    const keys = trustedKeys(config, opts.key);
    if (keys.length === 0) throw new UsageError('no public key to check checkpoints with: set ledger.trustedKeyFiles, give --key, or run where the signing key is');
    const signer = optionalSigner(config);
    return withLedgerStore(config, async (store) => {
      const now = (deps.now ?? (() => new Date()))();
      let bundle;
      try {
        bundle = await collectEvidence(store, uniqueId, keys, now);
      } catch (e) {
        // No checkpoint covers the call yet: sign one when this host can, and try once more.
        if (!(e instanceof EvidenceError) || !signer || !/no signed checkpoint/.test(e.message)) throw e;
        await signAll(config, store, signer, keys);
        bundle = await collectEvidence(store, uniqueId, keys, now);
      }
      writeOutputFile(opts.out, `${JSON.stringify(bundle, null, 2)}\n`, 0o640);
      await out(io.stdout, `evidence of call ${printable(uniqueId)} written to ${printable(opts.out)}: ${bundle.entries.length} entries, checkpoint signed by ${printable(bundle.key.name)}\n`);
      return EXIT.ok;
    });
  });
}

async function readLine(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) throw new UsageError('--caller -: no standard input');
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.includes('\n') || text.length > 256) break;
  }
  return text.split('\n')[0] ?? '';
}

export function runErase(config: Config, opts: { caller: string }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'erase', async () => {
    const number = opts.caller === '-' ? await readLine(io.stdin) : opts.caller;
    if (number.trim() === '') throw new UsageError('--caller: empty number');
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records erased');
      const r = await eraseCaller(context(config, store, deps, p.tick), number);
      p.end();
      await out(
        io.stdout,
        `erased ${r.records} record(s) of this caller; ${r.recordingsDeleted} recording file(s) confirmed deleted` +
          `${r.recordingsMissing ? `, ${r.recordingsMissing} found already missing` : ''}; the erasure is logged in the chain\n` +
          waitingLine(r.waiting, 'not erased yet') +
          `records of this caller decided before now that reach the ledger later (from a service's journal) will be erased by the next purge\n`,
      );
      for (const f of r.failures) {
        io.stderr.write(`not erased: record ${printable(f.uniqueId)}: cannot delete ${printable(f.path)}: ${printable(f.error)}\n`);
      }
      return r.failures.length > 0 ? EXIT.failure : EXIT.ok;
    });
  });
}

/** "N record(s) <what>: their recordings wait to be deleted by server a (2), b (1)" when any waits. */
function waitingLine(waiting: Record<string, number>, what: string): string {
  const total = waitingTotal(waiting);
  if (total === 0) return '';
  const servers = Object.entries(waiting)
    .map(([server, n]) => `${printable(server)} (${n})`)
    .join(', ');
  return `${total} record(s) ${what}: their recordings wait to be deleted by the server that holds them: ${servers}; see \`consent-ivr ledger pending\`\n`;
}

/** A queue entry set apart: its key and field as Redis has them (escaped), and what is wrong. */
function malformedLine(m: MalformedEntry): string {
  const shown = (v: string) => printable(v.length > 200 ? `${v.slice(0, 200)}…` : v);
  return `malformed ${m.queue} entry, set apart (it holds up nothing; remove or fix it): key ${shown(m.key)} field ${shown(m.field)}: ${m.problem}\n`;
}

export function runPending(config: Config, opts: { json?: boolean }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'pending', () =>
    withLedgerStore(config, async (store) => {
      const servers = await pendingByServer(context(config, store, deps));
      // Entries that are not deletions the ledger queued: named (escaped), and the exit says something is wrong.
      const malformed = servers.reduce((n, s) => n + s.malformed.length, 0);
      const exit = malformed > 0 ? EXIT.failure : EXIT.ok;
      if (opts.json) {
        await out(
          io.stdout,
          `${JSON.stringify(
            servers.map((s) => ({
              ...s,
              deletions: s.deletions.map((d) => ({ uniqueId: d.uniqueId, reason: d.reason, requestedAt: new Date(d.requestedAt).toISOString() })),
              malformed: s.malformed.map((m) => ({ key: m.key, field: m.field, problem: m.problem })),
            })),
          )}\n`,
        );
        return exit;
      }
      const now = (deps.now ?? (() => new Date()))().getTime();
      const age = (ms: number) => (ms >= 86_400_000 ? `${(ms / 86_400_000).toFixed(1)} d` : ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${Math.round(ms / 60_000)} min`);
      let text = '';
      for (const s of servers) {
        text += `${printable(s.server)}: ${s.count} deletion(s) waiting${s.oldestAgeMs !== null ? `, oldest ${age(s.oldestAgeMs)}` : ''}\n`;
        for (const d of s.deletions) text += `  ${printable(d.uniqueId)}\t${d.reason}\t${age(now - d.requestedAt)}\n`;
      }
      await out(io.stdout, text || 'no recording deletion is waiting\n');
      for (const s of servers) for (const m of s.malformed) io.stderr.write(malformedLine(m));
      return exit;
    }),
  );
}

export function runPurge(config: Config, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'purge', () =>
    withLedgerStore(config, async (store) => {
      const p = progress(io, 'records purged');
      const r = await purgeLedger(context(config, store, deps, p.tick));
      p.end();
      if (r.skipped) {
        await out(io.stdout, `purge: nothing done: ${r.skipped}\n`);
        return EXIT.ok;
      }
      const late = r.lateErasures;
      await out(
        io.stdout,
        `purge: ${r.records} record(s) entered before ${r.cutoff} deleted, ${r.recordingsDeleted} recording file(s) deleted` +
          `${r.recordingsMissing ? `, ${r.recordingsMissing} found already missing` : ''}` +
          `${r.trimmed.map((t) => `, log ${printable(t.log)} trimmed up to seq ${t.seq}`).join('')}\n` +
          waitingLine(r.waiting, 'kept') +
          waitingLine(late.waiting, 'not erased yet') +
          (late.records + late.failures.length > 0
            ? `purge: ${late.records} record(s) of erased callers that arrived after their erasure erased, ${late.recordingsDeleted} recording file(s) deleted\n`
            : ''),
      );
      for (const f of r.failures) {
        io.stderr.write(`kept: record ${printable(f.uniqueId)}: cannot delete ${printable(f.path)}: ${printable(f.error)}\n`);
      }
      for (const f of late.failures) {
        io.stderr.write(`not erased: record ${printable(f.uniqueId)}: cannot delete ${printable(f.path)}: ${printable(f.error)}\n`);
      }
      for (const m of r.malformed) io.stderr.write(malformedLine(m));
      return r.failures.length + late.failures.length + r.malformed.length > 0 ? EXIT.failure : EXIT.ok;
    }),
  );
}

export function runConsistency(config: Config, earlier: string, opts: { out: string; key?: string[] }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'consistency', async () => {
    const keys = trustedKeys(config, opts.key);
    const notes = await readCheckpointFile(earlier).catch((e: Error) => {
      throw new UsageError(e.message.replace('--checkpoint', 'checkpoint file'));
    });
    return withLedgerStore(config, async (store) => {
      const proofs = [];
      for (const note of notes) proofs.push(await proveConsistency(store, note, keys));
      writeOutputFile(opts.out, `${JSON.stringify(proofs, null, 2)}\n`, 0o644);
      for (const p of proofs) {
        await out(io.stdout, `log ${printable(p.log)}: the latest checkpoint extends the earlier one (proof of ${p.proof.length} hashes)\n`);
      }
      await out(io.stdout, `written to ${printable(opts.out)}; check it offline with consent-ivr evidence consistency\n`);
      return EXIT.ok;
    });
  });
}

// -------------------------------------------------------------------------------------- commander

export function registerLedgerCommands(program: Command, getConfig: () => Config, deps: CliDeps = {}): void {
  const io = deps.io ?? processIO;
  const ledger = program
    .command('ledger')
    .description('inspect, export, verify, erase and purge the consent ledger (Redis)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  const done = (code: number) => {
    process.exitCode = code;
  };
  const since = new Option('--since <time>', 'entered at or after this time (ISO 8601; UTC if no zone)');
  const until = new Option('--until <time>', 'entered before this time (ISO 8601; UTC if no zone)');
  const sub = (name: string) =>
    ledger
      .command(name)
      .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
      .exitOverride();

  sub('show')
    .description('one record, by the channel UNIQUEID')
    .argument('<uniqueid>')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => done(await runShow(getConfig(), id, o, deps)));

  sub('list')
    .description('records, oldest first')
    .addOption(since)
    .addOption(until)
    .option('--outcome <outcome>', `only this outcome (${OUTCOMES.join(', ')})`)
    .option('--json', 'print a JSON array')
    .action(async (o: ListOptions) => done(await runList(getConfig(), o, deps)));

  sub('export')
    .description('records for auditors (CNDP): CSV or JSON Lines on stdout')
    .requiredOption('--format <format>', 'csv or jsonl')
    .addOption(new Option('--since <time>', since.description))
    .addOption(new Option('--until <time>', until.description))
    .action(async (o: ExportOptions) => done(await runExport(getConfig(), o, deps)));

  const collect = (v: string, prev: string[] = []) => [...prev, v];
  sub('verify')
    .description('walk every log, check it against its signed checkpoints and every record against it; exit 1 on a break')
    .option('--checkpoint <file>', 'also check against checkpoints kept elsewhere (a note, or a checkpoint file); repeatable', collect)
    .option('--key <file>', 'a trusted public key besides ledger.trustedKeyFiles and the signing key; repeatable', collect)
    .option('--recordings', "re-hash this server's recording files and check them against their seals")
    .option('--json', 'print the report as JSON')
    .action(async (o: VerifyCliOptions) => done(await runVerify(getConfig(), o, deps)));

  sub('checkpoint')
    .description('sign a checkpoint of every log that grew (where the signing key is) and print the latest of each, to keep elsewhere')
    .option('--out <file>', 'write them to this file (JSON Lines) instead of stdout')
    .option('--no-sign', 'only print the latest checkpoints')
    .action(async (o: { out?: string; sign?: boolean }) => done(await runCheckpoint(getConfig(), o, deps)));

  sub('consistency')
    .description('prove that the latest checkpoints extend earlier ones (an auditor\'s copy): the log only grew since')
    .argument('<earlier-checkpoints>', 'a checkpoint note, or a file written by ledger checkpoint --out')
    .requiredOption('--out <file>', 'the proof file to write')
    .option('--key <file>', 'a trusted public key besides ledger.trustedKeyFiles and the signing key; repeatable', collect)
    .action(async (f: string, o: { out: string; key?: string[] }) => done(await runConsistency(getConfig(), f, o, deps)));

  sub('evidence')
    .description("write one call's evidence bundle, checkable offline with consent-ivr evidence verify")
    .argument('<uniqueid>')
    .requiredOption('--out <file>', 'the bundle file to write')
    .option('--key <file>', 'a trusted public key besides ledger.trustedKeyFiles and the signing key; repeatable', collect)
    .action(async (id: string, o: { out: string; key?: string[] }) => done(await runEvidence(getConfig(), id, o, deps)));

  sub('erase')
    .description("erase a caller's recordings and personal fields on request (keeps a record of the erasure)")
    .requiredOption('--caller <number>', 'the caller number as they give it; "-" reads it from stdin (keeps it out of shell history)')
    .action(async (o: { caller: string }) => done(await runErase(getConfig(), o, deps)));

  sub('purge')
    .description('delete records and recordings older than ledger.retentionDays (for a daily timer)')
    .action(async () => done(await runPurge(getConfig(), deps)));

  sub('pending')
    .description('recording deletions (erase, purge) still waiting for the server that holds the recordings, per server')
    .option('--json', 'print them as JSON')
    .action(async (o: { json?: boolean }) => done(await runPending(getConfig(), o, deps)));
}
