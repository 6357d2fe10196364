/**
 * The legal holds in force (the holds hash) against the chain (`ledger verify`). Someone who can write
 * to Redis but not sign could otherwise drop a hold in silence: purge and erasure read only the hash.
 * - a hold whose own entry is in the log, never released, and is not in the hash: removed outside the
 *   ledger;
 * - a hold in the hash whose entry is not in the log (the untrimmed part: a purge never trims past a
 *   hold in force): not in the log, or placed but interrupted before its entry was written;
 * - a hold in the hash that differs from its entry (call, caller, reason, time, place);
 * - a hold released in the log but still in the hash (a release interrupted: release it again);
 * - an entry of the hash that is not a hold at all.
 * The walk keeps the own entries of holds only (one per hold, not per call), so memory stays small.
 */
import { holdEntryOf, holdSubject, isOwnEntry, type Hold, type HoldEntryBody, type HoldStore, type StoredChainEntry } from '../ledger';

export type HoldProblemKind = 'removed' | 'not-in-log' | 'differs' | 'released' | 'malformed';

export interface HoldProblem {
  hold: string;
  kind: HoldProblemKind;
  message: string;
}

export interface HoldsReport {
  /** Holds in force (valid entries of the hash). */
  active: number;
  problems: HoldProblem[];
}

interface Seen {
  log: string;
  seq: number;
  body: HoldEntryBody;
}

export class HoldSink {
  private readonly placed = new Map<string, Seen>();
  private readonly released = new Map<string, Seen>();

  /** Notes the hold and release entries of one log's walk. */
  feed(log: string, entries: readonly StoredChainEntry[]): void {
    for (const e of entries) {
      if (!e.body.includes('"hold"')) continue;
      const b = holdEntryOf(e.body);
      if (!b) continue;
      if (b.type === 'release') {
        if (!this.released.has(b.hold)) this.released.set(b.hold, { log, seq: e.seq, body: b });
      } else if (isOwnEntry(b) && !this.placed.has(b.hold)) this.placed.set(b.hold, { log, seq: e.seq, body: b });
    }
  }

  /** Compares the holds hash with what the walk saw. */
  async finish(store: HoldStore): Promise<HoldsReport> {
    const { items, malformed } = await store.readHolds();
    const problems: HoldProblem[] = malformed.map((m) => ({
      hold: m.field.slice(0, 40),
      kind: 'malformed',
      message: `entry ${m.field.slice(0, 40)} of ${m.key} is not a hold (${m.problem}): purge and erase refuse to run until it is fixed or removed`,
    }));
    const inHash = new Set(items.map((h) => h.id));
    for (const h of items) {
      const p = this.check(h);
      if (p) problems.push(p);
    }
    for (const [id, s] of this.placed) {
      if (inHash.has(id) || this.released.has(id)) continue;
      problems.push({
        hold: id,
        kind: 'removed',
        message: `hold ${id} (${s.body.scope === 'call' ? `call ${s.body.uniqueId ?? '?'}` : 'a caller'}, placed ${s.body.at}: entry seq ${s.seq} of log "${s.log}") was never released but is no longer in force: removed outside the ledger; place it again`,
      });
    }
    return { active: items.length, problems };
  }

  private check(h: Hold): HoldProblem | null {
    const where = h.scope === 'call' ? `call ${h.uniqueId ?? '?'}` : 'a caller';
    const released = this.released.get(h.id);
    if (released) {
      return { hold: h.id, kind: 'released', message: `hold ${h.id} (${where}) was released (entry seq ${released.seq} of log "${released.log}") but is still in force: its release was interrupted; release it again` };
    }
    const s = this.placed.get(h.id);
    if (!s) {
      const why = h.seq === 0 ? 'its placing was interrupted before its entry was written' : `no entry seq ${h.seq} of log "${h.log}" places it`;
      return { hold: h.id, kind: 'not-in-log', message: `hold ${h.id} (${where}) is in force but not in the log (${why}): release it and place it again` };
    }
    const b = s.body;
    const differs: string[] = [];
    if (b.scope !== h.scope) differs.push('scope');
    if (h.scope === 'call' && b.uniqueId !== h.uniqueId) differs.push('call');
    if (h.scope === 'caller' && b.subject !== holdSubject(h.id, h.caller ?? '')) differs.push('caller');
    if (b.reason !== h.reason) differs.push('reason');
    if (b.at !== h.at) differs.push('time');
    if (s.log !== h.log || s.seq !== h.seq) differs.push('entry');
    if (differs.length === 0) return null;
    return { hold: h.id, kind: 'differs', message: `hold ${h.id} in force differs from its entry (seq ${s.seq} of log "${s.log}") in its ${differs.join(', ')}: changed outside the ledger; release it and place it again` };
  }
}
