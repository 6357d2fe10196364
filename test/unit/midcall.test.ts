/**
 * During the conversation: the pure withdrawal and pause plans, the queue entry formats the dialplan
 * writes, the routines' Stasis arguments, and the inbox's bookkeeping with in-memory ports.
 */
import { parseQueued, parseQueuedPause } from '../../src/midcall/astdb-queue';
import { MidCallInbox } from '../../src/midcall/inbox';
import { InvalidRecordError, validateRecord } from '../../src/ledger/record';
import { createLogger } from '../../src/observability/logger';
import { LATE_MS, pauseEventId, planPause } from '../../src/midcall/plan/pause';
import { planWithdrawal, withdrawalEventId } from '../../src/midcall/plan/withdrawal';
import type { Clock } from '../../src/ports/clock';
import type { ConsentRecord, Ledger, Pause, StoredIn } from '../../src/ports/ledger';
import type { QueuedAction, QueuedPause, QueuedWithdrawal } from '../../src/ports/midcall';
import { testRecord } from '../support/records';

const AT = new Date('2026-11-30T10:00:05.250Z');
const open = (start: Date): Pause => ({ start: start.toISOString(), end: null });
const span = (start: Date, end: Date): Pause => ({ start: start.toISOString(), end: end.toISOString() });

function record(over: Partial<ConsentRecord> = {}): ConsentRecord {
  return testRecord({ uniqueId: '1764496800.7', language: 'fr', ...over });
}

const queued = (over: Partial<QueuedWithdrawal> = {}): QueuedWithdrawal => ({ kind: 'withdrawal', key: '1764496800.7', uniqueId: '1764496800.7', at: AT, by: 'caller', ...over });
const pauseReq = (over: Partial<QueuedPause> = {}): QueuedPause => ({ kind: 'pause', key: '1764496800.7', uniqueId: '1764496800.7', at: AT, channel: 'PJSIP/trunk-0000002a', ...over });

describe('planWithdrawal', () => {
  test('When an accepted, recorded call is withdrawn under "delete", then the file goes and the record says deleted, by whom and when', () => {
    const plan = planWithdrawal(record(), queued(), 'delete');
    expect(plan).toEqual({
      kind: 'store',
      removeFile: '/rec/2026/11/30/1764496800.7.wav',
      record: expect.objectContaining({ withdrawal: { at: AT.toISOString(), by: 'caller', recording: 'deleted' }, recording: { startedAt: '2026-11-30T09:59:04.010Z', file: null }, outcome: 'accepted' }),
    });
  });

  test('When withdrawn under "keep", then the file stays and the record keeps its path', () => {
    const plan = planWithdrawal(record(), queued({ by: 'agent' }), 'keep');
    expect(plan).toEqual({
      kind: 'store',
      removeFile: null,
      record: expect.objectContaining({ withdrawal: { at: AT.toISOString(), by: 'agent', recording: 'kept' }, recording: record().recording }),
    });
  });

  test.each(['refused', 'no-input', 'unavailable', 'error'] as const)('When a %s call is withdrawn, then nothing was recorded and no file is removed', (outcome) => {
    const plan = planWithdrawal(record({ outcome, recording: null }), queued(), 'delete');
    expect(plan).toMatchObject({ kind: 'store', removeFile: null, record: { withdrawal: { recording: 'none' }, recording: null } });
  });

  test('When the record already holds a withdrawal, then only the queue entry goes (a second withdrawal changes nothing)', () => {
    expect(planWithdrawal(record({ withdrawal: { at: AT.toISOString(), by: 'caller', recording: 'deleted' } }), queued(), 'delete')).toEqual({ kind: 'already-stored' });
  });

  test('When the caller was erased meanwhile, then there is nothing left to withdraw or pause', () => {
    const erased = { ...record({ callerPseudonym: '', recording: null }), erasedAt: AT.toISOString() };
    expect(planWithdrawal(erased, queued(), 'delete')).toEqual({ kind: 'already-stored' });
    expect(planPause(erased, pauseReq(), AT.getTime() + 100)).toMatchObject({ kind: 'drop' });
  });

  test('When the call\'s outcome is not stored yet, then it waits', () => {
    expect(planWithdrawal(record({ outcome: null }), queued(), 'delete')).toEqual({ kind: 'wait' });
  });

  test('The event id is one per call', () => {
    expect(withdrawalEventId('1.2')).toBe(withdrawalEventId('1.2'));
    expect(withdrawalEventId('1.2')).not.toBe(withdrawalEventId('1.3'));
  });

  test('A withdrawn record passes validation; a wrong withdrawnBy or direction does not', () => {
    const plan = planWithdrawal(record(), queued(), 'delete');
    if (plan.kind !== 'store') throw new Error('expected a plan to store');
    expect(() => validateRecord(plan.record)).not.toThrow();
    expect(() => validateRecord({ ...plan.record, withdrawal: { at: AT.toISOString(), by: 'robot' as never, recording: 'deleted' } })).toThrow(InvalidRecordError);
    expect(() => validateRecord({ ...plan.record, direction: 'sideways' as never })).toThrow(InvalidRecordError);
  });
});

describe('planPause', () => {
  const now = AT.getTime() + 300;
  const later = new Date(AT.getTime() + 10_000);

  test('When the agent pauses an accepted recording, then it is muted and a span opens', () => {
    expect(planPause(record(), pauseReq(), now)).toEqual({ kind: 'apply', mute: true, record: expect.objectContaining({ pauses: [open(AT)] }) });
  });

  test('When the agent resumes, then it is unmuted and the span closes; a second pause opens another', () => {
    const paused = record({ pauses: [open(AT)] });
    const resumed = planPause(paused, pauseReq({ kind: 'resume', at: later }), later.getTime() + 100);
    expect(resumed).toEqual({ kind: 'apply', mute: false, record: expect.objectContaining({ pauses: [span(AT, later)] }) });
    if (resumed.kind !== 'apply' || !resumed.record) throw new Error('expected a record');
    const again = new Date(later.getTime() + 5000);
    expect(planPause(resumed.record, pauseReq({ at: again }), again.getTime() + 10)).toMatchObject({ record: { pauses: [span(AT, later), open(again)] } });
  });

  test('When consent was withdrawn, then nothing resumes the recording', () => {
    expect(planPause(record({ withdrawal: { at: AT.toISOString(), by: 'caller', recording: 'deleted' }, recording: null }), pauseReq({ kind: 'resume' }), now)).toMatchObject({ kind: 'drop' });
  });

  test.each(['refused', 'no-input', 'error'] as const)('When the call is %s, then there is nothing to pause', (outcome) => {
    expect(planPause(record({ outcome, recording: null }), pauseReq(), now)).toMatchObject({ kind: 'drop' });
  });

  test('When a pause is found after the dialplan gave up waiting, then the recording is not touched (the dialplan stopped it) but the pause is kept', () => {
    expect(planPause(record(), pauseReq(), AT.getTime() + LATE_MS + 1)).toEqual({ kind: 'record-only', record: expect.objectContaining({ pauses: [open(AT)] }) });
  });

  test('When a resume is found after the dialplan gave up waiting, then it is dropped (the agent was told it is still paused)', () => {
    expect(planPause(record({ pauses: [open(AT)] }), pauseReq({ kind: 'resume' }), AT.getTime() + LATE_MS + 1)).toMatchObject({ kind: 'drop' });
  });

  test('When the pause is already stored, then it is muted again (idempotent) and nothing new is stored', () => {
    expect(planPause(record({ pauses: [open(AT)] }), pauseReq(), now)).toEqual({ kind: 'apply', mute: true, record: null });
  });

  test('Records with pauses validate; a malformed span does not', () => {
    expect(() => validateRecord(record({ pauses: [span(AT, later), open(later)] }))).not.toThrow();
    expect(() => validateRecord(record({ pauses: [open(AT), open(later)] }))).toThrow(InvalidRecordError);
    expect(() => validateRecord(record({ pauses: [{ start: 'yesterday', end: null }] }))).toThrow(InvalidRecordError);
  });

  test('Each request has its own event id', () => {
    expect(pauseEventId(pauseReq())).not.toBe(pauseEventId(pauseReq({ kind: 'resume' })));
    expect(pauseEventId(pauseReq())).not.toBe(pauseEventId(pauseReq({ at: later })));
  });
});

describe('the queue entries the dialplan writes', () => {
  test('When the entry is "<epoch>.<ms>|caller", then it parses to that time and party', () => {
    expect(parseQueued('/consent-ivr-withdrawn/consent-ivr/1764496800.7', '1796032805.250|caller')).toEqual(queued());
    expect(parseQueued('1764496800.7', '1796032805|agent')).toMatchObject({ by: 'agent', at: new Date('2026-11-30T10:00:05.000Z') });
  });

  test.each([
    ['1764496800.7', '1796032805|robot'],
    ['1764496800.7', 'yesterday|caller'],
    ['../etc', '1796032805|caller'],
    ['1764496800.7', '1796032805|caller\r\nAction: Originate'],
  ])('When the entry is %j = %j, then it is not taken', (key, value) => {
    expect(parseQueued(key, value)).toBeNull();
  });

  test('A pause entry carries the request and the subject\'s channel; a hostile channel name is not taken', () => {
    expect(parseQueuedPause('/consent-ivr-pause/consent-ivr/1764496800.7', '1796032805.250|pause|PJSIP/trunk-0000002a')).toEqual(pauseReq());
    expect(parseQueuedPause('1764496800.7', '1796032805|resume|Local/s@ctx-00000001;2')).toMatchObject({ kind: 'resume', channel: 'Local/s@ctx-00000001;2' });
    expect(parseQueuedPause('1764496800.7', '1796032805|pause|PJSIP/x,b()')).toBeNull();
    expect(parseQueuedPause('1764496800.7', '1796032805|stop|PJSIP/x')).toBeNull();
  });
});

describe('MidCallInbox', () => {
  const log = createLogger({ level: 'error', format: 'json' });
  const clock: Clock = { now: () => new Date(AT.getTime() + 2000), setTimeout: () => ({ cancel: () => undefined }) };

  function setup(stored: ConsentRecord | null, opts: { failStore?: boolean; fileMissing?: boolean } = {}) {
    const entries = new Map<string, string>([['1764496800.7', '1796032805.250|caller']]);
    const removedFiles: string[] = [];
    const observed: string[] = [];
    const closed: string[] = [];
    const withdrawals: { record: ConsentRecord; eventId: string }[] = [];
    let current = stored;
    const ledger: Ledger = {
      recordDecision: async () => 'redis',
      recordOutcome: async () => 'redis',
      recordWithdrawal: async (r, eventId): Promise<StoredIn> => {
        if (opts.failStore) throw new Error('Redis and the journal both failed');
        await new Promise((done) => setTimeout(done, 5)); // a Redis round trip: room for the other side to run
        withdrawals.push({ record: r, eventId });
        current = r;
        return 'redis';
      },
      recordPause: async () => 'redis',
      find: async () => current,
    };
    const inbox = new MidCallInbox(
      {
        queue: {
          pending: async () => ({ items: [...entries].map(([k, v]) => parseQueued(k, v)).filter((q): q is QueuedWithdrawal => q !== null), unreadable: [] }),
          remove: async (item: QueuedAction) => {
            entries.delete(item.key);
          },
          put: async () => undefined,
        },
        recorder: { start: async () => ({ mixMonitorId: 'x' }), stop: async () => undefined, mute: async () => undefined },
        ledger,
        files: {
          remove: async (path: string) => {
            removedFiles.push(path);
            return opts.fileMissing ? 'missing' : 'removed';
          },
        },
        clock,
      },
      { partialRecording: 'delete', pollMs: 1000, giveUpAfterMs: 86_400_000 },
      log,
      { observer: { withdrawn: (by) => observed.push(by) }, onRecordingClosed: (id) => closed.push(id) },
    );
    return { inbox, entries, removedFiles, withdrawals, observed, closed };
  }

  test('When a withdrawal is queued, then the file is removed, the withdrawal stored once, and the entry removed', async () => {
    const t = setup(record());
    expect(await t.inbox.drain()).toBe(1);
    expect(t.removedFiles).toEqual(['/rec/2026/11/30/1764496800.7.wav']);
    expect(t.withdrawals).toEqual([{ eventId: 'withdrawal:1764496800.7', record: expect.objectContaining({ withdrawal: expect.objectContaining({ recording: 'deleted' }) }) }]);
    expect(t.entries.size).toBe(0);
    expect(t.observed).toEqual(['caller']);
    expect(await t.inbox.drain()).toBe(0);
    expect(t.observed).toEqual(['caller']);
  });

  test('When the ledger cannot store it, then the entry stays queued for the next pass', async () => {
    const t = setup(record(), { failStore: true });
    expect(await t.inbox.drain()).toBe(0);
    expect(t.entries.size).toBe(1);
    expect(t.observed).toEqual([]);
  });

  test('When the record cannot be read yet (Redis down), then the entry stays queued', async () => {
    const t = setup(null);
    expect(await t.inbox.drain()).toBe(0);
    expect(t.entries.size).toBe(1);
    expect(t.removedFiles).toEqual([]);
  });

  test('When the entry outlived its storing (stopped between the two), then it is removed without a second withdrawal', async () => {
    const t = setup(record({ withdrawal: { at: AT.toISOString(), by: 'caller', recording: 'deleted' }, recording: null }));
    expect(await t.inbox.drain()).toBe(0);
    expect(t.withdrawals).toEqual([]);
    expect(t.entries.size).toBe(0);
  });

  test('When the control API and the queue\'s pass carry out the same withdrawal at once, then it is stored, logged and counted once', async () => {
    const t = setup(record());
    const item = parseQueued('1764496800.7', '1796032805.250|caller') as QueuedWithdrawal;
    const [viaApi, viaPass] = await Promise.all([t.inbox.carryOut(item, record()), t.inbox.drain()]);
    expect(viaApi).toBe('stored');
    expect(viaPass).toBe(0);
    expect(t.withdrawals).toHaveLength(1);
    expect(t.observed).toEqual(['caller']);
    expect(t.closed).toEqual(['1764496800.7']);
    expect(t.removedFiles).toHaveLength(1);
    expect(t.entries.size).toBe(0);
  });

  test('When the pass takes the request first, then the control API, holding the record it read before, stores nothing more', async () => {
    const t = setup(record());
    const item = parseQueued('1764496800.7', '1796032805.250|caller') as QueuedWithdrawal;
    const pass = t.inbox.drain();
    await new Promise((done) => setTimeout(done, 1)); // the pass is storing by now
    const [viaPass, viaApi] = await Promise.all([pass, t.inbox.carryOut(item, record())]);
    expect(viaPass).toBe(1);
    expect(viaApi).toBe('nothing');
    expect(t.withdrawals).toHaveLength(1);
    expect(t.observed).toEqual(['caller']);
    expect(t.closed).toEqual(['1764496800.7']);
  });
});
