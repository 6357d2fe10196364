/**
 * Work queues read entry by entry: what the ledger's queue entries must look like (ledger/queues.ts),
 * and the workers (deletions, sealer, mid-call inbox) going on past an entry they set apart, reporting
 * it once (error line with its key and field, escaped; the metric). And UNIQUEIDs with a system name:
 * the one pattern (domain/vocabulary.ts), the AstDB queue, file names, doctor's advice.
 */
import { Writable } from 'node:stream';
import { parseQueued, parseQueuedPause } from '../../src/midcall/astdb-queue';
import { DeletionWorker } from '../../src/retention/deletions';
import { MidCallInbox } from '../../src/midcall/inbox';
import { Sealer } from '../../src/evidence/sealer';
import { systemNameFindings } from '../../src/cli/doctor';
import { systemNameOf, UNIQUE_ID } from '../../src/domain/vocabulary';
import { checkErasureMark, checkPendingDeletion, checkUnsealed, parseConfirmation, readEntries, type MalformedEntry } from '../../src/ledger/queues';
import type { PendingDeletion, UnsealedRecording } from '../../src/ledger/types';
import { createLogger } from '../../src/observability/logger';
import { Metrics } from '../../src/observability/metrics';
import type { Clock } from '../../src/ports/clock';
import type { ConsentRecord, Ledger } from '../../src/ports/ledger';
import type { QueuedAction } from '../../src/ports/midcall';
import { recordingPath } from '../../src/call/call-runner';
import { testRecord } from '../support/records';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const clock: Clock = { now: () => new Date(NOW), setTimeout: () => ({ cancel: () => undefined }) };

/** A logger whose JSON lines are kept. */
function capturing() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', format: 'json' }, sink), lines, errors: () => lines.filter((l) => l.level === 'error') };
}

/** An observer counting what is set apart, per queue. */
function counting() {
  const counts: Record<string, number> = {};
  return { counts, observer: { queueEntryMalformed: (q: string) => void (counts[q] = (counts[q] ?? 0) + 1) } };
}

const deletion = (id: string, over: Partial<PendingDeletion> = {}): PendingDeletion => ({ uniqueId: id, path: `/rec/${id}.wav`, reason: 'erase', requestedAt: 1000, ...over });
const unsealed = (id: string, over: Partial<UnsealedRecording> = {}): UnsealedRecording => ({ uniqueId: id, log: 'pbx1', path: `/rec/${id}.wav`, sinceMs: 1000, ...over });

describe('queue entries, checked one by one', () => {
  test('When a deletion, a recording to seal, an erasure request or a confirmation is what the service writes, then it reads back as it was', () => {
    expect(checkPendingDeletion('1.2', JSON.stringify(deletion('1.2')))).toEqual({ ok: deletion('1.2') });
    expect(checkUnsealed('1.2', JSON.stringify(unsealed('1.2', { stopped: 'withdrawal' })))).toEqual({ ok: unsealed('1.2', { stopped: 'withdrawal' }) });
    expect(checkErasureMark('p1', '1764496800000')).toEqual({ ok: ['p1', 1764496800000] });
    expect(parseConfirmation(JSON.stringify({ server: 'srv-b', result: 'missing', atMs: 40 }))).toEqual({ server: 'srv-b', result: 'missing', atMs: 40 });
  });

  test.each([
    ['not JSON', 'not json', 'not JSON'],
    ['JSON but not an object', '[1,2]', 'not a JSON object'],
    ['null', 'null', 'not a JSON object'],
    ['another call under this field', JSON.stringify(deletion('9.9')), 'uniqueId differs from its field'],
    ['a relative path', JSON.stringify(deletion('1.2', { path: '../etc/passwd' })), 'path is not an absolute path'],
    ['a path with a line break', JSON.stringify(deletion('1.2', { path: '/rec/a\nb.wav' })), 'path is not an absolute path'],
    ['an unknown reason', JSON.stringify({ ...deletion('1.2'), reason: 'because' }), 'reason is not erase or purge'],
    ['a time as text', JSON.stringify({ ...deletion('1.2'), requestedAt: '1000' }), 'requestedAt is not a time'],
    ['no time', JSON.stringify({ uniqueId: '1.2', path: '/rec/x.wav', reason: 'erase' }), 'requestedAt is not a time'],
  ])('When a queued deletion is %s, then it is set apart: %j', (_what, value, problem) => {
    expect(checkPendingDeletion('1.2', value)).toEqual({ problem });
  });

  test('When a recording to seal has the wrong shape, then it is set apart, saying what is wrong', () => {
    expect(checkUnsealed('1.2', JSON.stringify({ ...unsealed('1.2'), log: 'a b' }))).toEqual({ problem: 'log is not a log id' });
    expect(checkUnsealed('1.2', JSON.stringify({ ...unsealed('1.2'), sinceMs: -5 }))).toEqual({ problem: 'sinceMs is not a time' });
    expect(checkUnsealed('1.2', JSON.stringify({ ...unsealed('1.2'), stopped: 'never' }))).toEqual({ problem: 'stopped is not a reason a recording closes for' });
    expect(checkErasureMark('p1', 'yesterday')).toEqual({ problem: 'not a time in ms' });
    expect(parseConfirmation('{"server":"srv","result":"gone","atMs":1}')).toBeNull();
    expect(parseConfirmation('not json')).toBeNull();
  });

  test('When a hash holds a bad entry in front of good ones, then the good ones are all read, in order, and the bad one is named by key and field', () => {
    const flat = ['x', 'not json', '1.2', JSON.stringify(deletion('1.2')), 'evil\r\nfield', '{}', '1.3', JSON.stringify(deletion('1.3')), 'dangling'];
    const r = readEntries('deletions', 'k:{ledger}:deletions:srv', flat, checkPendingDeletion);
    expect(r.items.map((d) => d.uniqueId)).toEqual(['1.2', '1.3']);
    expect(r.malformed).toEqual<MalformedEntry[]>([
      { queue: 'deletions', key: 'k:{ledger}:deletions:srv', field: 'x', problem: 'not JSON' },
      { queue: 'deletions', key: 'k:{ledger}:deletions:srv', field: 'evil\r\nfield', problem: 'uniqueId is not a call id' },
      { queue: 'deletions', key: 'k:{ledger}:deletions:srv', field: 'dangling', problem: 'no value' },
    ]);
  });
});

describe('the workers go on past an entry they set apart', () => {
  test('When a server\'s deletion queue holds a malformed entry before valid ones, then the valid ones are done, the gauges still come, and the bad one is reported once with its key and field escaped', async () => {
    const { log, errors } = capturing();
    const { counts, observer } = counting();
    const removed: string[] = [];
    const confirmed: string[] = [];
    const stats: unknown[] = [];
    const malformed: MalformedEntry = { queue: 'deletions', key: '{ledger}:deletions:srv', field: 'x\r\nforged line', problem: 'not JSON' };
    const worker = new DeletionWorker(
      {
        queue: {
          queueDeletion: async () => undefined,
          pendingDeletions: async () => [],
          readDeletions: async () => ({ items: [deletion('1.2'), deletion('1.3')].filter((d) => !confirmed.includes(d.uniqueId)), malformed: [malformed] }),
          deletionServers: async () => ['srv'],
          confirmDeletion: async (_s, id) => void confirmed.push(id),
          deletionConfirmations: async () => [],
          forgetConfirmations: async () => undefined,
          cancelDeletions: async () => undefined,
        },
        files: { remove: async (p) => (removed.push(p), 'removed') },
        clock,
      },
      { serverId: 'srv', pollMs: 1000 },
      log,
      { ...observer, deletionsPending: (s) => void stats.push(s) },
    );
    expect(await worker.pass()).toBe(2);
    expect(await worker.pass()).toBe(0);
    expect(removed).toEqual(['/rec/1.2.wav', '/rec/1.3.wav']);
    expect(confirmed).toEqual(['1.2', '1.3']);
    expect(stats.at(-1)).toEqual([{ server: 'srv', count: 0, oldestAgeMs: null }]);
    expect(counts).toEqual({ deletions: 1 });
    expect(errors()).toEqual([expect.objectContaining({ queue: 'deletions', key: '{ledger}:deletions:srv', field: 'x\\u000d\\u000aforged line', problem: 'not JSON' })]);
  });

  test('When the recordings to seal hold a malformed entry, or a call whose record cannot be read, then the others are sealed, and each is reported once', async () => {
    const { log, errors } = capturing();
    const { counts, observer } = counting();
    const appended: string[] = [];
    const queue = new Map([['1.2', unsealed('1.2')], ['1.3', unsealed('1.3')]]);
    const sealer = new Sealer(
      {
        evidence: {
          markUnsealed: async () => undefined,
          readUnsealed: async () => ({ items: [...queue.values()], malformed: [{ queue: 'unsealed', key: '{ledger}:unsealed:srv', field: 'x', problem: 'not JSON' }] }),
          clearUnsealed: async (_s, id) => void queue.delete(id),
        },
        ledger: {
          appendEvent: async (i) => void appended.push(JSON.parse(i.body).uniqueId),
          find: async (id) => {
            if (id === '1.2') throw new SyntaxError('Unexpected token o in JSON');
            return testRecord({ uniqueId: id });
          },
        },
        channels: { liveChannelIds: async () => new Set() },
        files: { inspect: async () => ({ size: 100, sha256: 'ab'.repeat(32), durationMs: 10, closed: true }) },
        clock,
      },
      { serverId: 'srv', log: 'pbx1', recordingDir: '/rec', pollMs: 1000 },
      log,
      observer,
    );
    expect(await sealer.pass()).toBe(2);
    expect(appended).toEqual(['1.2', '1.3']);
    expect(queue.size).toBe(0);
    expect(counts).toEqual({ unsealed: 2 });
    expect(errors().map((l) => [l.message, l.key])).toEqual([
      ['queue entry set apart: it is not one the service writes; left in place, the entries behind it go on', '{ledger}:unsealed:srv'],
      ["recording waiting for its seal: the call's record cannot be read; sealed without it", '1.2'],
    ]);
  });

  test('When the withdrawal queue holds an entry the dialplan does not write and one whose record cannot be read, then the withdrawal behind them is stored; both stay, reported once each', async () => {
    const { log, errors } = capturing();
    const { counts, observer } = counting();
    const entries = new Map([
      ['/consent-ivr-withdrawn/app/1764496800.1', 'garbage'],
      ['/consent-ivr-withdrawn/app/1764496800.2', '1796032805.250|caller'],
      ['/consent-ivr-withdrawn/app/pbx1-1764496800.3', '1796032805.250|caller'],
    ]);
    const records: Record<string, ConsentRecord> = { 'pbx1-1764496800.3': testRecord({ uniqueId: 'pbx1-1764496800.3', recording: null }) };
    const stored: string[] = [];
    const ledger: Ledger = {
      recordDecision: async () => 'redis',
      recordOutcome: async () => 'redis',
      recordWithdrawal: async (r) => (stored.push(r.uniqueId), (records[r.uniqueId] = r), 'redis'),
      recordPause: async () => 'redis',
      find: async (id) => {
        if (id === '1764496800.2') throw new SyntaxError('Unexpected token');
        return records[id] ?? null;
      },
    };
    const inbox = new MidCallInbox(
      {
        queue: {
          pending: async () => {
            const items: QueuedAction[] = [];
            const unreadable: { queue: 'withdrawals'; key: string; value: string }[] = [];
            for (const [k, v] of entries) {
              const q = parseQueued(k, v);
              if (q) items.push(q);
              else unreadable.push({ queue: 'withdrawals', key: k, value: v });
            }
            return { items, unreadable };
          },
          remove: async (item) => void entries.delete(`/consent-ivr-withdrawn/app/${item.key}`),
          put: async () => undefined,
        },
        recorder: { start: async () => ({ mixMonitorId: 'x' }), stop: async () => undefined, mute: async () => undefined },
        ledger,
        files: { remove: async () => 'removed' },
        clock,
      },
      { partialRecording: 'delete', pollMs: 1000, giveUpAfterMs: 86_400_000 },
      log,
      { observer },
    );
    expect(await inbox.drain()).toBe(1);
    expect(await inbox.drain()).toBe(0);
    expect(stored).toEqual(['pbx1-1764496800.3']);
    expect([...entries.keys()]).toEqual(['/consent-ivr-withdrawn/app/1764496800.1', '/consent-ivr-withdrawn/app/1764496800.2']);
    expect(counts).toEqual({ withdrawals: 2 });
    expect(errors().map((l) => l.key)).toEqual(['/consent-ivr-withdrawn/app/1764496800.1', '1764496800.2']);
  });

  test('When the metrics are told of entries set apart, then the counter goes up by queue, every queue exported from 0', async () => {
    const m = new Metrics({ ari: () => 'up', ami: () => 'up', redis: () => 'up', journalBacklog: () => 0, activeCalls: () => 0 });
    m.queueEntryMalformed('deletions');
    m.queueEntryMalformed('deletions');
    m.queueEntryMalformed('withdrawals');
    const text = await m.registry.metrics();
    expect(text).toContain('consent_ivr_queue_entries_malformed_total{queue="deletions"} 2');
    expect(text).toContain('consent_ivr_queue_entries_malformed_total{queue="withdrawals"} 1');
    expect(text).toContain('consent_ivr_queue_entries_malformed_total{queue="unsealed"} 0');
  });
});

describe('UNIQUEIDs with a system name', () => {
  test.each([
    ['1764496800.7', ''],
    ['pbx1-1764496800.7', 'pbx1'],
    ['pbx-1.example_2-1764496800.12', 'pbx-1.example_2'],
    ['1-1764496800.7', '1'],
  ])('%s is a UNIQUEID, with system name %j', (id, name) => {
    expect(systemNameOf(id)).toBe(name);
  });

  test.each(['', '1764496800', 'pbx1-', '-1764496800.7', '.hidden-1764496800.7', 'a/b-1764496800.7', 'a b-1764496800.7', 'pbx1-1764496800.7\r\nAction: Originate', `${'a'.repeat(65)}-1764496800.7`, '1764496800.7/..'])(
    '%j is not a UNIQUEID',
    (id) => {
      expect(UNIQUE_ID.test(id)).toBe(false);
      expect(systemNameOf(id)).toBeNull();
    },
  );

  test('When the dialplan queues a withdrawal or a pause of a call whose UNIQUEID carries a system name, then it is read; its recording is named by it', () => {
    expect(parseQueued('/consent-ivr-withdrawn/consent-ivr/pbx1-1764496800.7', '1796032805.250|caller')).toMatchObject({ key: 'pbx1-1764496800.7', uniqueId: 'pbx1-1764496800.7', by: 'caller' });
    expect(parseQueuedPause('/consent-ivr-pause/consent-ivr/pbx1-1764496800.7', '1796032805|pause|PJSIP/trunk-0000002a')).toMatchObject({ uniqueId: 'pbx1-1764496800.7' });
    expect(parseQueued('/consent-ivr-withdrawn/consent-ivr/pbx 1-1764496800.7', '1796032805|caller')).toBeNull();
    expect(recordingPath('/rec', 'pbx1-1764496800.7', 'wav', new Date(NOW))).toBe('/rec/2026/11/30/pbx1-1764496800.7.wav');
    expect(recordingPath('/rec', '../x', 'wav', new Date(NOW))).toBe('/rec/2026/11/30/.._x.wav');
  });

  const seen = (named: boolean) => ({ newestMs: NOW, named });

  test('When one server alone writes to the ledger, then doctor says nothing of systemname, set or not', () => {
    expect(systemNameFindings('pbx1', '', new Map())).toEqual([]);
    expect(systemNameFindings('pbx1', '', new Map([['pbx1', seen(false)]]))).toEqual([]);
  });

  test('When several servers share the ledger and one makes UNIQUEIDs without a system name, then doctor warns, naming it', () => {
    const f = systemNameFindings('pbx1', 'pbx1', new Map([['pbx1', seen(true)], ['pbx2', seen(false)]]));
    expect(f).toEqual([{ level: 'warning', message: expect.stringContaining('(pbx1, pbx2) and pbx2 makes UNIQUEIDs without a system name') }]);
    // This Asterisk has none: warned even before its first record.
    expect(systemNameFindings('pbx1', '', new Map([['pbx2', seen(true)]]))).toEqual([{ level: 'warning', message: expect.stringContaining('and pbx1 makes UNIQUEIDs') }]);
    // Every server has one now (this one's older records did not): nothing to say.
    expect(systemNameFindings('pbx1', 'pbx1', new Map([['pbx1', seen(false)], ['pbx2', seen(true)]]))).toEqual([]);
  });

  test('When this Asterisk\'s systemname is outside the accepted set, then doctor fails, since its UNIQUEIDs would be refused', () => {
    expect(systemNameFindings('pbx1', 'pbx 1/a', new Map())).toEqual([{ level: 'error', message: expect.stringContaining('asterisk.conf systemname "pbx 1/a" is not one the service accepts') }]);
  });
});
