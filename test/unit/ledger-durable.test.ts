import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { extendTree } from '../../src/ledger/appender';
import { buildEntries, ChainVerifier } from '../../src/ledger/chain';
import { DurableLedger } from '../../src/ledger/durable-ledger';
import { parseStoredRecord } from '../../src/ledger/record';
import { Journal, type JournalEntry, type JournalPort } from '../../src/ledger/journal';
import { createLogger } from '../../src/observability/logger';
import type { ConsentRecord } from '../../src/ports/ledger';
import type { AppendResult, ChainStore, StoredChainEntry } from '../../src/ledger/types';
import { testRecord, testRecording } from '../support/records';
import { ManualClock, flush } from '../support/manual-clock';
import { MemoryLedgerStore } from '../support/memory-ledger-store';

/** The ledger's clock: time passes only when a test advances it. */
let clock: ManualClock;

/** The in-memory store, slowed down (on the test's clock) or failing as a test needs; it counts the appends. */
class MemoryStore extends MemoryLedgerStore {
  /** Milliseconds of the clock an append takes before it is applied and answered. */
  delayMs = 0;
  failWith: Error | null = null;
  appendCalls = 0;

  override async append(...args: Parameters<MemoryLedgerStore['append']>): Promise<AppendResult> {
    this.appendCalls += 1;
    if (this.delayMs) await new Promise<void>((r) => clock.setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    return super.append(...args);
  }
  get entries(): StoredChainEntry[] {
    return this.state.entries;
  }
  /** Another instance appends an entry. */
  async foreignAppend(): Promise<void> {
    const head = await this.head();
    const body = '{"type":"purge"}';
    const entries = buildEntries(head, [body]);
    await super.append(head, entries, [{ eventId: `foreign-${head.seq}`, body, record: null }], extendTree(head.tree, entries));
  }
  verify(): boolean {
    const v = new ChainVerifier(null);
    v.feed(this.entries);
    return v.finish({ lastGeneratedId: null, entriesAdded: null }).ok;
  }
  recordOf(id: string): ConsentRecord | undefined {
    const json = this.state.records.get(id)?.json;
    return json ? parseStoredRecord(json) : undefined;
  }
}

const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
const P = 'c'.repeat(64);

function record(i: number, over: Partial<ConsentRecord> = {}): ConsentRecord {
  const t = new Date(Date.now() - 60_000).toISOString();
  return testRecord({ uniqueId: `u.${i}`, callerPseudonym: P, calledNumber: '100', enteredAt: t, noticeStartedAt: t, decidedAt: t, recording: null, ...over });
}

let dir: string;
let journal: Journal;
beforeEach(async () => {
  clock = new ManualClock();
  dir = mkdtempSync(join(tmpdir(), 'civr-durable-'));
  journal = await Journal.open(join(dir, 'j.jsonl'));
});
afterEach(async () => {
  await journal.close();
  rmSync(dir, { recursive: true, force: true });
});

function ledger(store: ChainStore, j: JournalPort = journal, over: { writeTimeoutMs?: number; retentionDays?: number } = {}): DurableLedger {
  return new DurableLedger(store, j, {
    writeTimeoutMs: over.writeTimeoutMs ?? 100,
    retentionDays: over.retentionDays ?? 180,
    replayIntervalMs: 60_000,
    clock,
    logger: quiet,
  });
}

describe('durable ledger', () => {
  test('When the store takes the write, then recordDecision resolves "redis" and the event is chained', async () => {
    const s = new MemoryStore();
    const l = ledger(s);
    await expect(l.recordDecision(record(1))).resolves.toBe('redis');
    expect(s.recordOf('u.1')).toMatchObject({ uniqueId: 'u.1', outcome: 'accepted', erasedAt: null });
    expect(s.entries).toHaveLength(1);
    expect(l.state()).toBe('up');
    await l.close();
  });

  test('When a record stored before outbound calls and withdrawals is read, then the new fields read as inbound and null', async () => {
    const s = new MemoryStore();
    const old: Record<string, unknown> = { ...record(7) };
    for (const f of ['direction', 'withdrawnAt', 'withdrawnBy', 'withdrawalRecording', 'pauses']) delete old[f];
    s.state.records.set('u.7', { json: JSON.stringify(old), stage: 2, seq: 0, enteredMs: 0, events: new Map(), last: '' });
    const l = ledger(s);
    expect(await l.find('u.7')).toMatchObject({ uniqueId: 'u.7', direction: 'inbound', withdrawal: null, pauses: [] });
    await l.close();
  });

  test('When a withdrawal is stored twice with the same event id, then the chain has it once', async () => {
    const s = new MemoryStore();
    const l = ledger(s);
    await l.recordOutcome(record(8));
    const w = record(8, { withdrawal: { at: new Date().toISOString(), by: 'caller', recording: 'deleted' } });
    await expect(l.recordWithdrawal(w, 'withdrawal:u.8')).resolves.toBe('redis');
    await l.recordWithdrawal(w, 'withdrawal:u.8');
    expect(s.entries.filter((e) => JSON.parse(e.body).type === 'withdrawal')).toHaveLength(1);
    expect(s.recordOf('u.8')).toMatchObject({ withdrawal: { by: 'caller' } });
    await l.close();
  });

  test('When the store is not connected, then the write goes to the journal at once and is replayed once it is back', async () => {
    const s = new MemoryStore();
    s.ready = false;
    const l = ledger(s);
    l.start();
    // The clock does not move: the write waits for no time.
    await expect(l.recordDecision(record(1))).resolves.toBe('journal');
    expect(l.state()).toBe('down');
    expect(l.journalBacklog()).toBe(1);
    expect(s.appendCalls).toBe(0);
    s.reconnect();
    await flush();
    expect(s.appendCalls).toBe(1); // the reconnection alone started the replay
    await l.replay(); // joins it
    expect(l.journalBacklog()).toBe(0);
    expect(s.entries).toHaveLength(1);
    expect(l.state()).toBe('up');
    await l.close();
  });

  test('When the store answers too late, then the write goes to the journal after writeTimeoutMs, and the late write plus the replay store it once', async () => {
    const s = new MemoryStore();
    s.delayMs = 250;
    const l = ledger(s, journal, { writeTimeoutMs: 80 });
    const where = l.recordDecision(record(1));
    await flush(); // the append is sent
    clock.advance(79);
    await flush();
    expect(l.state()).toBe('up'); // not given up on yet
    expect(s.entries).toHaveLength(0);
    clock.advance(1);
    await expect(where).resolves.toBe('journal');
    expect(l.state()).toBe('down');
    clock.advance(170); // the late write lands
    await flush();
    expect(s.entries).toHaveLength(1);
    s.delayMs = 0;
    const r = await l.replay();
    expect(r.replayed).toBe(1);
    expect(s.entries).toHaveLength(1); // already applied: not appended again
    expect(l.journalBacklog()).toBe(0);
    await l.close();
  });

  test('When the process is busy past writeTimeoutMs while the reply is already waiting, then the write still counts as stored in Redis', async () => {
    const s = new MemoryStore();
    s.delayMs = 10;
    const l = ledger(s, journal, { writeTimeoutMs: 50 });
    const where = l.recordDecision(record(1));
    await flush(); // the append is sent; its reply is due in 10 ms
    // Busy for 150 ms: the reply arrives and the write timer expires before the ledger runs again.
    clock.advance(150);
    await expect(where).resolves.toBe('redis');
    expect(l.journalBacklog()).toBe(0);
    await l.close();
  });

  test('When a write waits behind a batch in flight, then its time counts from when that batch was sent, not from the call', async () => {
    const s = new MemoryStore();
    s.delayMs = 80;
    const l = ledger(s, journal, { writeTimeoutMs: 100 });
    const first = l.recordOutcome(record(1));
    await flush(); // the first batch is in flight (80 ms)
    clock.advance(10);
    const second = l.recordOutcome(record(2)); // sent at 80 ms, answered at 160 ms: 150 ms after its call, 80 ms after its send
    clock.advance(70);
    await expect(first).resolves.toBe('redis');
    clock.advance(30); // 110 ms: 100 ms after the second's call, 30 ms after its send
    await flush();
    expect(l.state()).toBe('up');
    clock.advance(50);
    await expect(second).resolves.toBe('redis');
    s.delayMs = 200;
    const slow = l.recordOutcome(record(3));
    await flush();
    clock.advance(20);
    const behind = l.recordOutcome(record(4)); // queued behind a batch that misses the bound
    clock.advance(80);
    await expect(slow).resolves.toBe('journal');
    clock.advance(20);
    await expect(behind).resolves.toBe('journal');
    clock.advance(100); // the slow batch lands late; the one behind it, abandoned, is never sent
    await flush();
    expect(s.appendCalls).toBe(3);
    await l.close();
  });

  test('When writes queue behind a slow one, then the ones not yet sent are journaled and never sent later', async () => {
    const s = new MemoryStore();
    s.delayMs = 200;
    const l = ledger(s, journal, { writeTimeoutMs: 50 });
    const where = Promise.all([1, 2, 3].map((i) => l.recordOutcome(record(i))));
    await flush();
    clock.advance(50);
    expect(await where).toEqual(['journal', 'journal', 'journal']);
    clock.advance(150); // the first batch's answer comes back, and the pump goes on
    await flush();
    expect(s.entries).toHaveLength(1);
    expect(s.appendCalls).toBe(1); // only the first batch was ever sent
    s.delayMs = 0;
    await l.replay();
    expect([...s.state.records.keys()].sort()).toEqual(['u.1', 'u.2', 'u.3']);
    expect(s.entries).toHaveLength(3);
    await l.close();
  });

  test('When the store fails, then the write goes to the journal', async () => {
    const s = new MemoryStore();
    s.failWith = new Error('READONLY You cannot write against a read only replica.');
    const l = ledger(s);
    await expect(l.recordOutcome(record(1))).resolves.toBe('journal');
    expect(l.state()).toBe('down');
    await l.close();
  });

  test('When neither the store nor the journal takes the write, then recordDecision rejects', async () => {
    const s = new MemoryStore();
    s.ready = false;
    const broken: JournalPort = {
      append: () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })),
      ack: () => Promise.resolve(),
      pending: () => [],
      backlog: () => 0,
      compact: () => Promise.resolve(),
    };
    const l = ledger(s, broken);
    await expect(l.recordDecision(record(1))).rejects.toThrow(/stored nowhere: Redis: Redis is not connected; journal: ENOSPC/);
    await l.close();
  });

  test('When a record carries a raw number instead of a pseudonym, then it is refused and stored nowhere', async () => {
    const s = new MemoryStore();
    const l = ledger(s);
    await expect(l.recordDecision(record(1, { callerPseudonym: '0612345678' }))).rejects.toThrow(/callerPseudonym/);
    expect(s.entries).toHaveLength(0);
    expect(l.journalBacklog()).toBe(0);
    await l.close();
  });

  test('When a decision is replayed after the outcome reached the store, then the record keeps the outcome', async () => {
    const s = new MemoryStore();
    s.ready = false;
    const l = ledger(s);
    await l.recordDecision(record(1, { recording: null }));
    s.ready = true;
    await l.recordOutcome(record(1, { recording: testRecording('/rec/u1.wav', null, new Date().toISOString()) }));
    await l.replay();
    expect(s.recordOf('u.1')?.recording?.file?.path).toBe('/rec/u1.wav');
    expect(s.entries.map((e) => (JSON.parse(e.body) as { type: string }).type)).toEqual(['outcome', 'decision']);
    await l.close();
  });

  test('When journal entries are older than the retention period, then replay drops them', async () => {
    const s = new MemoryStore();
    const old: JournalEntry = { id: 'old', kind: 'outcome', at: '2020-01-01T00:00:00.000Z', record: record(1, { enteredAt: '2020-01-01T00:00:00.000Z' }) };
    await journal.append(old);
    const l = ledger(s);
    const r = await l.replay();
    expect(r).toEqual({ replayed: 0, dropped: 1, remaining: 0 });
    expect(s.entries).toHaveLength(0);
    await l.close();
  });

  test('When another instance moves the head between appends, then the append retries on the new head and the chain stays valid', async () => {
    const s = new MemoryStore();
    const l = ledger(s);
    await l.recordOutcome(record(1));
    await s.foreignAppend();
    await l.recordOutcome(record(2));
    await s.foreignAppend();
    await Promise.all([3, 4, 5].map((i) => l.recordOutcome(record(i))));
    expect(s.entries).toHaveLength(7);
    expect(s.verify()).toBe(true);
    await l.close();
  });

  test('When 400 decisions arrive at once, then they are batched into few appends', async () => {
    const s = new MemoryStore();
    const l = ledger(s, journal, { writeTimeoutMs: 5000 });
    const where = await Promise.all(Array.from({ length: 400 }, (_, i) => l.recordDecision(record(i))));
    expect(where.every((w) => w === 'redis')).toBe(true);
    expect(s.appendCalls).toBeLessThan(20);
    expect(s.verify()).toBe(true);
    await l.close();
  });
});
