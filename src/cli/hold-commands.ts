/**
 * `consent-ivr ledger hold|release|holds`: legal holds. A hold keeps a call, or every call of a caller,
 * from the purge and from erasure until released; placing and releasing one are entries of the chain,
 * with the administrator's reason. A caller is given by their number (or "-": read from stdin) and is
 * never printed: a caller hold shows as "caller (pseudonymous)". Exit codes: 0 done (or already held),
 * 1 the call or hold is not there, 2 bad usage.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { printable, type Hold } from '../ledger';
import { holdReason, placeHold, releaseHold, type HoldSelector, type HoldTarget } from '../retention';
import { withLedgerStore } from '../service/ledger';
import { callerNumber, context, done, EXIT, out, processIO, run, subcommand, UsageError, type CliDeps, type CliIO } from './toolkit';

export interface HoldOptions {
  call?: string;
  caller?: string;
  reason?: string;
}

export interface ReleaseOptions extends HoldOptions {
  id?: string;
}

/** What a hold is on, in words (never the caller). */
function on(h: Hold): string {
  return h.scope === 'call' ? `call ${printable(h.uniqueId)}` : 'this caller (pseudonymous)';
}

/** The one target the options name (exactly one of them), the caller's number read now. */
async function targetOf(io: CliIO, opts: ReleaseOptions, allowId: boolean): Promise<HoldSelector> {
  const given = [opts.call !== undefined && '--call', opts.caller !== undefined && '--caller', allowId && opts.id !== undefined && '--id'].filter((x): x is string => typeof x === 'string');
  const choices = allowId ? '--id, --call or --caller' : '--call or --caller';
  if (given.length !== 1) throw new UsageError(given.length === 0 ? `give ${choices}` : `give one of ${choices}, not ${given.join(' and ')}`);
  if (opts.id !== undefined && allowId) return { id: opts.id.trim() };
  if (opts.call !== undefined) {
    if (opts.call.trim() === '') throw new UsageError('--call: empty call id');
    return { call: opts.call.trim() };
  }
  return { caller: await callerNumber(io, opts.caller ?? '') };
}

export function runHold(config: Config, opts: HoldOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'hold', async () => {
    holdReason(opts.reason);
    const target = (await targetOf(io, opts, false)) as HoldTarget;
    return withLedgerStore(config, async (store) => {
      const r = await placeHold(context(config, store, deps), target, opts.reason);
      const h = r.hold;
      if (r.status === 'already') {
        await out(io.stdout, `${on(h)} is already under legal hold ${h.id} since ${h.at} (reason: ${printable(h.reason)}); nothing changed\n`);
        return EXIT.ok;
      }
      const covers = h.scope === 'call' ? '' : `; it covers their ${r.records} record(s) in the ledger now and the ones to come`;
      const cancelled = r.deletionsCancelled > 0 ? `; ${r.deletionsCancelled} queued recording deletion(s) cancelled` : '';
      await out(
        io.stdout,
        `legal hold ${h.id} placed on ${on(h)} (entry seq ${h.seq} of log ${printable(h.log)})${covers}${cancelled}: the purge and erasure leave it alone until ledger release\n`,
      );
      return EXIT.ok;
    });
  });
}

export function runRelease(config: Config, opts: ReleaseOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'release', async () => {
    holdReason(opts.reason);
    const selector = await targetOf(io, opts, true);
    return withLedgerStore(config, async (store) => {
      const r = await releaseHold(context(config, store, deps), selector, opts.reason);
      const still = r.stillCovering.map((h) => `; still covered by legal hold ${h.id} (${h.scope === 'call' ? 'on the call' : 'on its caller'}: ${printable(h.reason)})`).join('');
      await out(io.stdout, `legal hold ${r.hold.id} on ${on(r.hold)} released, as logged in the chain${r.records > 1 ? ` (noted in ${r.records} records)` : ''}${still}\n`);
      return EXIT.ok;
    });
  });
}

/** A hold as `ledger holds --json` shows it: never the caller's pseudonym. */
function shown(h: Hold): Record<string, unknown> {
  return { id: h.id, scope: h.scope, uniqueId: h.uniqueId, reason: h.reason, since: h.at, log: h.log, seq: h.seq };
}

export function runHolds(config: Config, opts: { json?: boolean }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'holds', () =>
    withLedgerStore(config, async (store) => {
      const { items, malformed } = await store.readHolds();
      const exit = malformed.length > 0 ? EXIT.failure : EXIT.ok;
      if (opts.json) {
        await out(io.stdout, `${JSON.stringify({ holds: items.map(shown), malformed: malformed.map((m) => ({ key: m.key, field: m.field, problem: m.problem })) })}\n`);
        return exit;
      }
      let text = items.length === 0 ? 'no legal hold in force\n' : `${['ID', 'SCOPE', 'ON', 'SINCE (UTC)', 'ENTRY', 'REASON'].join('\t')}\n`;
      for (const h of items) {
        const entry = h.seq > 0 ? `${printable(h.log)}:${h.seq}` : `${printable(h.log)}:- (not written)`;
        text += `${[h.id, h.scope, h.scope === 'call' ? printable(h.uniqueId) : 'caller (pseudonymous)', h.at, entry, printable(h.reason)].join('\t')}\n`;
      }
      await out(io.stdout, text);
      for (const m of malformed) {
        io.stderr.write(`malformed holds entry (purge and erase refuse to run until it is fixed or removed): key ${printable(m.key)} field ${printable(m.field.slice(0, 200))}: ${m.problem}\n`);
      }
      return exit;
    }),
  );
}

export function registerHoldCommands(ledger: Command, getConfig: () => Config, deps: CliDeps): void {
  const io = deps.io ?? processIO;
  const reason = 'why (1 to 200 characters on one line, kept in the ledger: no personal data)';
  subcommand(ledger, 'hold', io)
    .description('place a legal hold on a call or a caller: the purge and erasure leave their records and recordings alone until released')
    .option('--call <uniqueid>', 'the call (its channel UNIQUEID)')
    .option('--caller <number>', 'every call of this caller, now and to come; "-" reads the number from stdin')
    .requiredOption('--reason <text>', reason)
    .action(async (o: HoldOptions) => done(await runHold(getConfig(), o, deps)));

  subcommand(ledger, 'release', io)
    .description('release a legal hold (by its id, or the hold on a call or a caller)')
    .option('--id <hold>', 'the hold (ledger holds lists them)')
    .option('--call <uniqueid>', "the call's own hold")
    .option('--caller <number>', "the caller's hold; \"-\" reads the number from stdin")
    .requiredOption('--reason <text>', reason)
    .action(async (o: ReleaseOptions) => done(await runRelease(getConfig(), o, deps)));

  subcommand(ledger, 'holds', io)
    .description('the legal holds in force: id, scope, call (a caller is not named), reason, since, entry')
    .option('--json', 'print them as JSON')
    .action(async (o: { json?: boolean }) => done(await runHolds(getConfig(), o, deps)));
}
