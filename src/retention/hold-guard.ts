/**
 * What the purge and erasure ask of the legal holds (ledger/holds.ts): whether a record is held (a hold
 * on its call, or on its caller), counted per hold for their reports, and how far the start of a log may
 * be trimmed so that every held call's entries, and every hold's own entry, stay checkable. The holds
 * are read again for each chunk of work, so a hold placed while a purge runs takes effect within a
 * chunk. A holds hash with an entry that is not a hold stops the work before anything is changed: what
 * it would hold cannot be told.
 */
import type { AdminStore, Hold, HoldScope, HoldStore, MalformedEntry, StoredRecord } from '../ledger';

/** The holds hash holds an entry that is not a hold: nothing is purged or erased until it is fixed. */
export class HoldsUnreadableError extends Error {
  constructor(readonly malformed: MalformedEntry[]) {
    const m = malformed[0] as MalformedEntry;
    super(
      `the legal holds cannot all be read: entry ${m.field.slice(0, 40)} of ${m.key} is not a hold (${m.problem})` +
        `${malformed.length > 1 ? ` and ${malformed.length - 1} more` : ''}; nothing was purged or erased: a hold it stands for cannot be told (fix or remove the entry; ledger verify names it)`,
    );
    this.name = 'HoldsUnreadableError';
  }
}

/** What one hold kept from a purge or an erasure. */
export interface HeldReport {
  hold: string;
  scope: HoldScope;
  /** The call of a call hold; null for a caller hold (never its caller). */
  uniqueId: string | null;
  reason: string;
  /** Records past their retention the purge kept. */
  records: number;
  /** Records whose erasure was held back (a purge completing an erasure, or an erase). */
  erasures: number;
}

export class HoldGuard {
  private byCall = new Map<string, Hold[]>();
  private byCaller = new Map<string, Hold[]>();
  private all: Hold[] = [];
  private readonly tally = new Map<string, HeldReport>();
  private readonly keptIds = new Set<string>();

  /** `overridden`: ids of holds an erasure was told to go past (--override-hold). */
  constructor(
    private readonly store: HoldStore,
    private readonly overridden: ReadonlySet<string> = new Set(),
  ) {}

  static async load(store: HoldStore, overridden?: ReadonlySet<string>): Promise<HoldGuard> {
    const g = new HoldGuard(store, overridden);
    await g.refresh();
    return g;
  }

  /** Reads the holds in force again; throws HoldsUnreadableError when one entry is not a hold. */
  async refresh(): Promise<void> {
    const { items, malformed } = await this.store.readHolds();
    if (malformed.length > 0) throw new HoldsUnreadableError(malformed);
    this.all = items.filter((h) => !this.overridden.has(h.id));
    this.byCall = new Map();
    this.byCaller = new Map();
    for (const h of this.all) {
      const [map, key] = h.scope === 'call' ? [this.byCall, h.uniqueId] : [this.byCaller, h.caller];
      if (key) map.set(key, [...(map.get(key) ?? []), h]);
    }
  }

  /** The holds in force (but the overridden ones), by time placed. */
  get active(): readonly Hold[] {
    return this.all;
  }

  /** The holds that cover a record: on its call, or on its caller (an erased record has no caller left). */
  covering(rec: Pick<StoredRecord, 'uniqueId' | 'callerPseudonym'>): Hold[] {
    return [...(this.byCall.get(rec.uniqueId) ?? []), ...(rec.callerPseudonym ? (this.byCaller.get(rec.callerPseudonym) ?? []) : [])];
  }

  /** True when a hold keeps the record from `what`; then counted under each hold that covers it. */
  keeps(rec: Pick<StoredRecord, 'uniqueId' | 'callerPseudonym'>, what: 'records' | 'erasures'): boolean {
    const holds = this.covering(rec);
    for (const h of holds) {
      let t = this.tally.get(h.id);
      if (!t) {
        t = { hold: h.id, scope: h.scope, uniqueId: h.uniqueId, reason: h.reason, records: 0, erasures: 0 };
        this.tally.set(h.id, t);
      }
      t[what] += 1;
    }
    if (holds.length > 0 && what === 'records') this.keptIds.add(rec.uniqueId);
    return holds.length > 0;
  }

  /** The holds that kept something, in the order they first did. */
  report(): HeldReport[] {
    return [...this.tally.values()];
  }

  /** Records past their retention kept under a hold (each once, however many holds cover it). */
  get recordsKept(): number {
    return this.keptIds.size;
  }
}

/**
 * The lowest seq of a log the trim must keep: the own entry of each hold in force that is in this log,
 * and every entry of each held record of this log (its evidence bundle needs them all). Infinity: none.
 */
export async function trimFloor(store: AdminStore, guard: HoldGuard, chunk: number): Promise<number> {
  let floor = Infinity;
  const keepRecord = async (uniqueId: string) => {
    const row = await store.getRecord(uniqueId);
    if (row) floor = Math.min(floor, row.seq, ...(await store.eventSeqs(uniqueId)));
  };
  for (const h of guard.active) {
    if (h.log === store.log && h.seq > 0) floor = Math.min(floor, h.seq);
    if (h.scope === 'call' && h.uniqueId) await keepRecord(h.uniqueId);
    if (h.scope === 'caller' && h.caller) for await (const ids of store.callerRecordIds(h.caller, chunk)) for (const id of ids) await keepRecord(id);
  }
  return floor;
}
