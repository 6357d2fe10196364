/**
 * Placing and releasing legal holds (behind `consent-ivr ledger hold|release|holds`). A hold is kept in
 * the holds hash (what the purge and erasure read: hold-guard.ts) and logged in the chain:
 * - a call hold: one `hold` entry, an event of the call in its log (in the call's evidence bundle);
 * - a caller hold: one `hold` entry in this host's log (bound to the caller by a salted digest of their
 *   pseudonym), and a note in the chain of each record of the caller found now. It holds the caller's
 *   later records too (the purge and erasure match the pseudonym); those get the note of its release.
 * Releasing writes the same entries (`release`) and then takes the hold off the hash. Placing one writes
 * the hash first (the hold is in force at once) and its entry after; an interruption between them
 * leaves the hold in force, and `ledger verify` names it.
 */
import { randomUUID } from 'node:crypto';
import {
  AdminUsageError,
  checkHoldReason,
  findRecord,
  HOLD_ID,
  holdSubject,
  INDEX_ONLY,
  isAnonymous,
  newHoldId,
  parseStoredRecord,
  pseudonymise,
  type AdminContext,
  type AppendItem,
  type Hold,
  type HoldEntryBody,
  type StoredRecord,
} from '../ledger';
import { LogWriters } from './log-writers';

/** An operational refusal: the call or the hold named is not there. */
export class HoldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HoldError';
  }
}

/** The reason of a hold, a release or an override, trimmed; bad: a usage error naming the option. */
export function holdReason(text: string | undefined, option = '--reason'): string {
  const r = checkHoldReason(text);
  if ('problem' in r) throw new AdminUsageError(`${option}: ${r.problem} (say why, in 1 to 200 characters on one line; it is kept in the ledger: no personal data)`);
  return r.ok;
}

/** What a hold is on: a call (its uniqueId), or a caller (their number as given; never kept). */
export type HoldTarget = { call: string } | { caller: string };

export interface PlaceResult {
  /** 'already': the same call or caller was held already (by `hold`); nothing was written. */
  status: 'placed' | 'already';
  hold: Hold;
  /** Records noted (the call; a caller's records found now). */
  records: number;
  /** Recording deletions queued for a server (by an erase or a purge) taken off, the hold keeping their files. */
  deletionsCancelled: number;
}

function callerOf(number: string, ctx: AdminContext): string {
  if (isAnonymous(number)) throw new AdminUsageError('--caller: an anonymous or empty number matches every withheld caller; a hold needs a real number');
  return pseudonymise(number, ctx.pseudonymKey);
}

/** The entry of a hold or its release in a record's own chain: an event indexed under the record, which it leaves as it is. */
function noteItem(type: 'hold' | 'release', hold: Hold, rec: StoredRecord, at: string, reason: string): AppendItem {
  const body: HoldEntryBody = { type, at, hold: hold.id, scope: hold.scope, uniqueId: rec.uniqueId, reason };
  return {
    eventId: `${type}:${hold.id}`,
    body: JSON.stringify(body),
    record: { uniqueId: rec.uniqueId, json: '', stage: INDEX_ONLY, enteredMs: Date.parse(rec.enteredAt), callerPseudonym: '', callerIndex: 'add' },
  };
}

/**
 * Notes a caller hold (or its release) in the chain of each record of the caller, in every log, and of
 * the records `also` names (log → uniqueIds: those just erased, no longer indexed under the caller); their ids.
 */
async function noteCaller(ctx: AdminContext, logs: LogWriters, type: 'hold' | 'release', hold: Hold, at: string, reason: string, also?: ReadonlyMap<string, string[]>): Promise<Set<string>> {
  const noted = new Set<string>();
  for (const [name, ids] of also ?? []) {
    const { store, appender } = logs.of(name);
    const rows = await store.getRecords(ids);
    await Promise.all(rows.flatMap((row) => (row ? [appender.submit(noteItem(type, hold, parseStoredRecord(row.json), at, reason)).done] : [])));
    for (const row of rows) if (row) noted.add(row.uniqueId);
  }
  for (const name of await ctx.store.logs()) {
    const { store, appender } = logs.of(name);
    for await (const ids of store.callerRecordIds(hold.caller ?? '', ctx.chunk)) {
      const jobs = [];
      for (const row of await store.getRecords(ids)) {
        if (!row) continue;
        const rec = parseStoredRecord(row.json);
        if (rec.callerPseudonym !== hold.caller) continue; // a stale index entry
        jobs.push(appender.submit(noteItem(type, hold, rec, at, reason)).done);
        noted.add(rec.uniqueId);
      }
      await Promise.all(jobs);
    }
  }
  return noted;
}

/** Appends an entry that is about no record to a log (the hold's own: this host's when placed); the seq of its entry. */
async function ownEntry(ctx: AdminContext, logs: LogWriters, log: string, body: object): Promise<number | null> {
  await ctx.store.registerLog(log);
  const job = logs.of(log).appender.submit({ eventId: (ctx.newId ?? randomUUID)(), body: JSON.stringify(body), record: null });
  await job.done;
  return job.seq;
}

/** Takes the queued deletions of these calls off every server's queue: the hold keeps their recordings. */
async function cancelDeletions(ctx: AdminContext, uniqueIds: ReadonlySet<string>): Promise<number> {
  let n = 0;
  for (const server of await ctx.store.deletionServers()) {
    const mine = (await ctx.store.pendingDeletions(server)).filter((d) => uniqueIds.has(d.uniqueId)).map((d) => d.uniqueId);
    await ctx.store.cancelDeletions(server, mine);
    n += mine.length;
  }
  return n;
}

/** Places a hold on a call or a caller; a call not in the ledger is refused (HoldError). */
export async function placeHold(ctx: AdminContext, target: HoldTarget, reasonText: string | undefined): Promise<PlaceResult> {
  const reason = holdReason(reasonText);
  const { items } = await ctx.store.readHolds();
  const logs = new LogWriters(ctx);
  const at = ctx.now().toISOString();
  const id = newHoldId();
  if ('call' in target) {
    const found = await findRecord(ctx.store, target.call);
    if (!found) throw new HoldError(`no record for uniqueid ${target.call} in the ledger: nothing to hold (check the id with ledger show)`);
    const already = items.find((h) => h.scope === 'call' && h.uniqueId === target.call);
    if (already) return { status: 'already', hold: already, records: 0, deletionsCancelled: 0 };
    const hold: Hold = { id, scope: 'call', uniqueId: target.call, caller: null, reason, at, log: found.log.log, seq: 0 };
    await ctx.store.putHold(hold);
    await written(hold, async () => {
      const job = logs.of(found.log.log).appender.submit(noteItem('hold', hold, parseStoredRecord(found.row.json), at, reason));
      await job.done;
      return job.seq;
    });
    await ctx.store.putHold(hold);
    return { status: 'placed', hold, records: 1, deletionsCancelled: await cancelDeletions(ctx, new Set([target.call])) };
  }
  const caller = callerOf(target.caller, ctx);
  const already = items.find((h) => h.scope === 'caller' && h.caller === caller);
  if (already) return { status: 'already', hold: already, records: 0, deletionsCancelled: 0 };
  const hold: Hold = { id, scope: 'caller', uniqueId: null, caller, reason, at, log: ctx.store.log, seq: 0 };
  await ctx.store.putHold(hold);
  let noted = new Set<string>();
  await written(hold, async () => {
    noted = await noteCaller(ctx, logs, 'hold', hold, at, reason);
    const body: HoldEntryBody = { type: 'hold', at, hold: id, scope: 'caller', subject: holdSubject(id, caller), records: noted.size, reason };
    return ownEntry(ctx, logs, hold.log, body);
  });
  await ctx.store.putHold(hold);
  return { status: 'placed', hold, records: noted.size, deletionsCancelled: await cancelDeletions(ctx, noted) };
}

/** Writes a hold's entry and sets its seq; on failure the hold stays in force and the error says so. */
async function written(hold: Hold, write: () => Promise<number | null>): Promise<void> {
  try {
    hold.seq = (await write()) ?? 0;
  } catch (e) {
    throw new Error(
      `hold ${hold.id} is in force but its entry may not be in the log (${(e as Error).message}): ledger holds lists it; ` +
        'once the ledger is reachable, run ledger verify, and if it names the hold, release it and place it again',
      { cause: e },
    );
  }
}

/** Which hold to release: by id, the call's own hold, or the caller's. */
export type HoldSelector = { id: string } | HoldTarget;

export interface ReleaseResult {
  hold: Hold;
  /** Records whose chain got the release (the call; the caller's records now). */
  records: number;
  /** Holds still covering the call or caller (a call released while its caller is held). */
  stillCovering: Hold[];
}

/** The hold a selector names, among those in force; none: HoldError. */
async function select(ctx: AdminContext, selector: HoldSelector, holds: Hold[]): Promise<Hold> {
  if ('id' in selector) {
    if (!HOLD_ID.test(selector.id)) throw new AdminUsageError(`--id: "${selector.id.slice(0, 40)}" is not a hold id (h- and 10 letters or digits; ledger holds lists them)`);
    const h = holds.find((x) => x.id === selector.id);
    if (!h) throw new HoldError(`no legal hold ${selector.id} in force (ledger holds lists them)`);
    return h;
  }
  if ('call' in selector) {
    const h = holds.find((x) => x.scope === 'call' && x.uniqueId === selector.call);
    if (h) return h;
    const found = await findRecord(ctx.store, selector.call);
    const pseudonym = found ? parseStoredRecord(found.row.json).callerPseudonym : '';
    const byCaller = holds.find((x) => x.scope === 'caller' && pseudonym !== '' && x.caller === pseudonym);
    throw new HoldError(`no legal hold on call ${selector.call}${byCaller ? `; its caller's hold ${byCaller.id} covers it (release that one with --id ${byCaller.id})` : ''}`);
  }
  const caller = callerOf(selector.caller, ctx);
  const h = holds.find((x) => x.scope === 'caller' && x.caller === caller);
  if (!h) throw new HoldError('no legal hold on this caller (a hold on one of their calls is released with --call or --id)');
  return h;
}

/** Releases a hold: its release entries, then off the hash. */
export async function releaseHold(ctx: AdminContext, selector: HoldSelector, reasonText: string | undefined): Promise<ReleaseResult> {
  const reason = holdReason(reasonText);
  const { items } = await ctx.store.readHolds();
  const hold = await select(ctx, selector, items);
  const records = await releaseOne(ctx, new LogWriters(ctx), hold, reason);
  const { items: after } = await ctx.store.readHolds();
  const rec = hold.uniqueId ? await findRecord(ctx.store, hold.uniqueId) : null;
  const pseudonym = hold.caller ?? (rec ? parseStoredRecord(rec.row.json).callerPseudonym : '');
  const stillCovering = after.filter((h) => (hold.uniqueId !== null && h.uniqueId === hold.uniqueId) || (pseudonym !== '' && h.caller === pseudonym));
  return { hold, records, stillCovering };
}

/**
 * Logs a hold's release (in the call's chain; a caller's: in each record's, those of `erased` too, and
 * the log of the hold's own entry, after it: a trim that takes the release takes the hold) and takes it
 * off the hash.
 */
export async function releaseOne(ctx: AdminContext, logs: LogWriters, hold: Hold, reason: string, erased?: ReadonlyMap<string, string[]>): Promise<number> {
  const at = ctx.now().toISOString();
  let records = 0;
  if (hold.scope === 'call' && hold.uniqueId) {
    const found = await findRecord(ctx.store, hold.uniqueId);
    if (found) {
      await logs.of(found.log.log).appender.submit(noteItem('release', hold, parseStoredRecord(found.row.json), at, reason)).done;
      records = 1;
    } else {
      // The record is gone (deleted outside the ledger): the release is logged here all the same.
      await ownEntry(ctx, logs, hold.log, { type: 'release', at, hold: hold.id, scope: 'call', uniqueId: hold.uniqueId, reason } satisfies HoldEntryBody);
    }
  } else {
    records = (await noteCaller(ctx, logs, 'release', hold, at, reason, erased)).size;
    await ownEntry(ctx, logs, hold.log, { type: 'release', at, hold: hold.id, scope: 'caller', records, reason } satisfies HoldEntryBody);
  }
  await ctx.store.removeHold(hold.id);
  return records;
}

// ------------------------------------------------------------------------------ erasure and holds

/** An erasure refused: records it would reach are held. Nothing was changed. */
export class HeldRefusal extends Error {
  constructor(readonly holds: Hold[]) {
    super(
      `refused: legal hold${holds.length > 1 ? 's' : ''} ${holds.map((h) => `${h.id} (${h.scope === 'call' ? `call ${h.uniqueId}` : 'this caller'}; reason: ${h.reason})`).join(', ')} ` +
        `${holds.length > 1 ? 'cover' : 'covers'} this erasure; nothing was erased.` +
        ' To erase all the same, give --override-hold --reason TEXT (kept in the ledger), or release the hold first',
    );
    this.name = 'HeldRefusal';
  }
}

/** The holds among `holds` that cover a caller's records: a hold on the caller, or on one of their calls. */
export async function holdsOnCaller(ctx: AdminContext, holds: readonly Hold[], pseudonym: string): Promise<Hold[]> {
  const out: Hold[] = [];
  for (const h of holds) {
    if (h.scope === 'caller') {
      if (h.caller === pseudonym) out.push(h);
      continue;
    }
    const found = h.uniqueId ? await findRecord(ctx.store, h.uniqueId) : null;
    if (found && parseStoredRecord(found.row.json).callerPseudonym === pseudonym) out.push(h);
  }
  return out;
}

/** Whether any record a hold covers is left with personal data (not erased). */
async function coversUnerased(ctx: AdminContext, hold: Hold): Promise<boolean> {
  if (hold.scope === 'call') {
    const found = hold.uniqueId ? await findRecord(ctx.store, hold.uniqueId) : null;
    return found !== null && parseStoredRecord(found.row.json).erasedAt === null;
  }
  for (const name of await ctx.store.logs()) {
    const store = ctx.store.forLog(name);
    for await (const ids of store.callerRecordIds(hold.caller ?? '', ctx.chunk)) {
      for (const row of await store.getRecords(ids)) if (row && parseStoredRecord(row.json).callerPseudonym === hold.caller) return true;
    }
  }
  return false;
}

/**
 * After an erasure that overrode holds: releases each one that covers nothing left to erase
 * ("overridden: …"), noting a caller hold's release in the records just erased (`erased`: log → uniqueIds).
 */
export async function releaseOverridden(
  ctx: AdminContext,
  logs: LogWriters,
  holds: readonly Hold[],
  pseudonym: string,
  reason: string,
  erased: ReadonlyMap<string, string[]>,
): Promise<{ hold: string; reason: string; released: boolean }[]> {
  const out = [];
  for (const h of holds) {
    // A call hold on a record of this caller; a caller hold on this caller only (holdsOnCaller).
    const left = h.scope === 'caller' && h.caller !== pseudonym ? true : await coversUnerased(ctx, h);
    if (!left) await releaseOne(ctx, logs, h, `overridden: ${reason}`, erased);
    out.push({ hold: h.id, reason: h.reason, released: !left });
  }
  return out;
}
