/**
 * `consent-ivr ledger erase|purge|pending`: a caller's erasure on request, the purge after each campaign
 * profile's retention period (counted per profile), and the recording deletions still waiting for the
 * server that holds them. A caller number given to `erase` is never printed or logged. Both spare what
 * a legal hold covers (hold-commands.ts): the purge says what each hold kept; an erase that would reach
 * held records is refused (exit 1) unless given --override-hold --reason, which is logged.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { printable, type MalformedEntry } from '../ledger';
import { eraseCaller, pendingByServer, purgeLedger, waitingTotal, type EraseReport, type HeldReport, type ProfilePurge, type PurgeReport } from '../retention';
import { withLedgerStore } from '../service/ledger';
import { callerNumber, context, done, EXIT, out, processIO, progress, run, subcommand, UsageError, type CliDeps } from './toolkit';

export interface EraseOptions {
  caller: string;
  /** Erase even what legal holds cover (with `reason`, logged in the chain). */
  overrideHold?: boolean;
  reason?: string;
}

/** What an erase says of the holds it overrode, and of those that kept records (placed while it ran). */
function holdLines(r: EraseReport): string {
  let text = '';
  for (const o of r.overridden) {
    text += `legal hold ${o.hold} (reason: ${printable(o.reason)}) overridden, as logged in the chain; ${o.released ? 'released: everything it covered is erased' : 'kept: it still covers records not erased yet; erase again once their recordings are gone'}\n`;
  }
  for (const h of r.held) text += `not erased: ${h.erasures} record(s) under legal hold ${h.hold}: ${printable(h.reason)}\n`;
  return text;
}

export function runErase(config: Config, opts: EraseOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'erase', async () => {
    if (opts.reason !== undefined && !opts.overrideHold) throw new UsageError('--reason: goes with --override-hold (why the legal holds are overridden)');
    if (opts.overrideHold && opts.reason === undefined) throw new UsageError('--override-hold: needs --reason TEXT (why; kept in the ledger)');
    const number = await callerNumber(io, opts.caller);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records erased');
      const r = await eraseCaller(context(config, store, deps, p.tick), number, opts.overrideHold ? opts.reason : undefined);
      p.end();
      await out(
        io.stdout,
        `erased ${r.records} record(s) of this caller; ${r.recordingsDeleted} recording file(s) confirmed deleted` +
          `${r.recordingsMissing ? `, ${r.recordingsMissing} found already missing` : ''}; the erasure is logged in the chain\n` +
          waitingLine(r.waiting, 'not erased yet') +
          `records of this caller decided before now that reach the ledger later (from a service's journal) will be erased by the next purge\n` +
          holdLines(r),
      );
      for (const f of r.failures) {
        io.stderr.write(`not erased: record ${printable(f.uniqueId)}: cannot delete ${printable(f.path)}: ${printable(f.error)}\n`);
      }
      return r.failures.length > 0 || r.held.length > 0 ? EXIT.failure : EXIT.ok;
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

/** One profile's line of the purge: its retention, and what went of its records. */
function profileLine(p: ProfilePurge): string {
  const name = p.configured ? `profile ${printable(p.profile)}` : `profile ${printable(p.profile)} (not in the configuration: the default's retention)`;
  return (
    `  ${name}: ${p.retentionDays} day(s), records entered before ${p.cutoff}: ${p.records} deleted, ${p.recordingsDeleted} recording file(s) deleted` +
    `${p.recordingsMissing ? `, ${p.recordingsMissing} found already missing` : ''}${p.kept ? `, ${p.kept} kept for now` : ''}\n`
  );
}

/** What each legal hold kept from the purge. */
function heldLine(h: HeldReport): string {
  const what = h.scope === 'call' ? `on call ${printable(h.uniqueId)}` : 'on a caller';
  return (
    (h.records > 0 ? `kept ${h.records} record(s) under hold ${h.hold} (${what}): ${printable(h.reason)}\n` : '') +
    (h.erasures > 0 ? `not erased: ${h.erasures} record(s) of erased callers under hold ${h.hold} (${what}): ${printable(h.reason)}\n` : '')
  );
}

function purgeText(r: PurgeReport): string {
  const late = r.lateErasures;
  // One cutoff for all (every profile kept as long): said as before; otherwise each profile's below.
  const which = r.profiles.every((p) => p.cutoff === r.cutoff) ? `entered before ${r.cutoff}` : "past their profile's retention";
  return (
    `purge: ${r.records} record(s) ${which} deleted, ${r.recordingsDeleted} recording file(s) deleted` +
    `${r.recordingsMissing ? `, ${r.recordingsMissing} found already missing` : ''}` +
    `${r.trimmed.map((t) => `, log ${printable(t.log)} trimmed up to seq ${t.seq}`).join('')}\n` +
    r.profiles.map(profileLine).join('') +
    waitingLine(r.waiting, 'kept') +
    waitingLine(late.waiting, 'not erased yet') +
    (late.records + late.failures.length > 0
      ? `purge: ${late.records} record(s) of erased callers that arrived after their erasure erased, ${late.recordingsDeleted} recording file(s) deleted\n`
      : '') +
    r.held.map(heldLine).join('')
  );
}

export function runPurge(config: Config, deps: CliDeps = {}, opts: { json?: boolean } = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'purge', () =>
    withLedgerStore(config, async (store) => {
      const p = progress(io, 'records purged');
      const r = await purgeLedger(context(config, store, deps, p.tick));
      p.end();
      const late = r.lateErasures;
      const exit = r.failures.length + late.failures.length + r.malformed.length > 0 ? EXIT.failure : EXIT.ok;
      if (opts.json) {
        await out(io.stdout, `${JSON.stringify(r)}\n`);
        return r.skipped ? EXIT.ok : exit;
      }
      if (r.skipped) {
        await out(io.stdout, `purge: nothing done: ${r.skipped}\n`);
        return EXIT.ok;
      }
      await out(io.stdout, purgeText(r));
      for (const f of r.failures) {
        io.stderr.write(`kept: record ${printable(f.uniqueId)}: cannot delete ${printable(f.path)}: ${printable(f.error)}\n`);
      }
      for (const f of late.failures) {
        io.stderr.write(`not erased: record ${printable(f.uniqueId)}: cannot delete ${printable(f.path)}: ${printable(f.error)}\n`);
      }
      for (const m of r.malformed) io.stderr.write(malformedLine(m));
      return exit;
    }),
  );
}

export function registerRetentionCommands(ledger: Command, getConfig: () => Config, deps: CliDeps): void {
  const io = deps.io ?? processIO;
  subcommand(ledger, 'erase', io)
    .description("erase a caller's recordings and personal fields on request (keeps a record of the erasure)")
    .requiredOption('--caller <number>', 'the caller number as they give it; "-" reads it from stdin (keeps it out of shell history)')
    .option('--override-hold', 'erase even the records legal holds cover (refused otherwise); needs --reason, kept in the ledger')
    .option('--reason <text>', 'with --override-hold: why the holds give way (1 to 200 characters, no personal data)')
    .action(async (o: EraseOptions) => done(await runErase(getConfig(), o, deps)));

  subcommand(ledger, 'purge', io)
    .description(
      "delete records and recordings older than their campaign profile's ledger.retentionDays (records of no profile, or of one no longer configured: the default's), for a daily timer",
    )
    .option('--json', 'print the report as JSON (totals, and per profile)')
    .action(async (o: { json?: boolean }) => done(await runPurge(getConfig(), deps, o)));

  subcommand(ledger, 'pending', io)
    .description('recording deletions (erase, purge) still waiting for the server that holds the recordings, per server')
    .option('--json', 'print them as JSON')
    .action(async (o: { json?: boolean }) => done(await runPending(getConfig(), o, deps)));
}
