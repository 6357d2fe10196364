/**
 * The checkpointer and the sealer over in-memory ports: what they sign and seal, and what they refuse.
 * (The same behaviours run against the real Redis and Asterisk in test/e2e/evidence.test.ts.)
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Sealer } from '../../src/evidence/sealer';
import { entryLeaf, extendTree } from '../../src/ledger/appender';
import { buildEntries, entryId } from '../../src/ledger/chain';
import { generateSigner, openNote, parseCheckpoint, verifierOf } from '../../src/evidence/checkpoint';
import { Checkpointer, logOfOrigin, originOf } from '../../src/evidence/checkpointer';
import { Frontier } from '../../src/ledger/merkle';
import type { FileState } from '../../src/evidence/seal';
import type { AppendItem, StoredChainEntry, UnsealedRecording } from '../../src/ledger/types';
import { createLogger } from '../../src/observability/logger';
import type { Clock } from '../../src/ports/clock';
import type { ConsentRecord } from '../../src/ports/ledger';
import { testRecord, testRecording } from '../support/records';
import { MemoryLedgerStore } from '../support/memory-ledger-store';

const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));

const clock: Clock = {
  now: () => new Date('2026-11-30T12:00:00Z'),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Appends `n` outcome entries to the store's log, with its Merkle tree, as the appender does. */
async function add(log: MemoryLedgerStore, n: number): Promise<void> {
  const head = await log.head();
  const bodies = Array.from({ length: n }, (_, i) => JSON.stringify({ type: 'outcome', uniqueId: `u${head.seq + i}` }));
  const entries = buildEntries(head, bodies);
  const items = bodies.map((body, i) => ({ eventId: `e${head.seq + i}`, body, record: null }));
  await log.append(head, entries, items, extendTree(head.tree, entries));
}

describe('checkpointer', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'civr-cp-')), 'checkpoints.jsonl');

  test('When entries were added, then it signs their size and Merkle root with its key, keeps it with the log and in its file; with none added, nothing', async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 5);
    const signer = generateSigner('unit');
    const f = file();
    const cp = new Checkpointer(log, signer, { intervalMs: 60000, file: f, clock, logger: quiet });
    expect(await cp.signNow()).toMatchObject({ status: 'signed', size: 5 });
    const { text } = openNote(log.state.checkpoints[0]?.note ?? '', [verifierOf(signer)]);
    const c = parseCheckpoint(text);
    const expected = new Frontier();
    for (const e of log.state.entries) expected.append(entryLeaf(e));
    expect(c).toMatchObject({ origin: originOf('pbx1'), size: 5 });
    expect(c.root.equals(expected.root())).toBe(true);
    expect(await cp.signNow()).toEqual({ status: 'unchanged', size: 5 });
    await add(log, 3);
    expect(await cp.signNow()).toMatchObject({ status: 'signed', size: 8 });
    expect(readFileSync(f, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { size: number }).size)).toEqual([5, 8]);
  });

  test('When the log was rewritten below its last checkpoint, then a new checkpointer (a restart) refuses to sign over it', async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 4);
    const signer = generateSigner('unit');
    const running = new Checkpointer(log, signer, { intervalMs: 60000, file: file(), clock, logger: quiet });
    expect(await running.signNow()).toMatchObject({ status: 'signed', size: 4 });
    // Entry 4 replaced by another (hash recomputed), then more appended on top.
    log.state.entries.pop();
    const last = log.state.entries[log.state.entries.length - 1] as StoredChainEntry;
    const [forged] = buildEntries({ seq: last.seq, hash: last.hash }, ['{"type":"outcome","uniqueId":"forged"}']);
    log.state.entries.push({ ...(forged as StoredChainEntry), id: entryId(4) });
    await add(log, 2);
    // The running one: the entry it signed last is not there any more.
    expect(await running.signNow()).toMatchObject({ status: 'refused', reason: expect.stringContaining('entry seq 4 of log "pbx1" is not the one signed') });
    expect(running.health()).toMatchObject({ state: 'refused', signedSize: 4, logSize: 6 });
    // A restarted one (even with another file): the log does not give the root of the checkpoint kept in Redis.
    const r = await new Checkpointer(log, signer, { intervalMs: 60000, file: file(), clock, logger: quiet }).signNow();
    expect(r).toMatchObject({ status: 'refused', reason: expect.stringContaining('first 4 entries do not give the root signed in Redis') });
    expect(log.state.checkpoints).toHaveLength(1);
  });

  test("When the log was rewritten and its checkpoints deleted from Redis, then a restarted checkpointer refuses from the host's file", async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 4);
    const signer = generateSigner('unit');
    const hostFile = file();
    expect(await new Checkpointer(log, signer, { intervalMs: 60000, file: hostFile, clock, logger: quiet }).signNow()).toMatchObject({ status: 'signed', size: 4 });
    // A Redis writer rewrites entry 2 and everything after it (hashes recomputed, so the chain links), and deletes the checkpoints.
    const kept = log.state.entries.slice(0, 1);
    const rewritten = buildEntries({ seq: 1, hash: (kept[0] as StoredChainEntry).hash }, ['{"type":"outcome","uniqueId":"forged"}', 'b', 'c']);
    log.state.entries = [...kept, ...rewritten.map((e) => ({ ...e, id: entryId(e.seq) }))];
    log.state.checkpoints = [];
    const restarted = new Checkpointer(log, signer, { intervalMs: 60000, file: hostFile, clock, logger: quiet });
    expect(await restarted.signNow()).toMatchObject({ status: 'refused', reason: expect.stringContaining("the host's checkpoint file") });
    expect(log.state.checkpoints).toHaveLength(0);
    // Shortened instead (the last entries removed): refused too, naming the sizes.
    log.state.entries = log.state.entries.slice(0, 1);
    const again = new Checkpointer(log, signer, { intervalMs: 60000, file: hostFile, clock, logger: quiet });
    expect(await again.signNow()).toMatchObject({ status: 'refused', reason: expect.stringMatching(/has 1 entries in Redis, but 4 were signed .*entries 2–4/) });
  });

  test('When a loss is accepted, then the log as it is gets a checkpoint marked as a loss, and signing goes on from it after a restart', async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 3);
    const signer = generateSigner('unit');
    const hostFile = file();
    const cp = new Checkpointer(log, signer, { intervalMs: 60000, file: hostFile, clock, logger: quiet });
    expect(await cp.signNow()).toMatchObject({ status: 'signed', size: 3 });
    await expect(cp.acceptLoss()).rejects.toThrow('there is no loss to accept');
    // Redis lost everything; two new entries were stored since.
    log.state.entries = [];
    log.state.tree = '0:';
    log.state.checkpoints = [];
    await add(log, 2);
    expect(await cp.signNow()).toMatchObject({ status: 'refused' });
    const r = await cp.acceptLoss();
    expect(r).toMatchObject({ size: 2, signed: 3 });
    expect(parseCheckpoint(openNote(r.note, [verifierOf(signer)]).text).extensions).toEqual(['consent-ivr-loss 3']);
    await add(log, 1);
    const restarted = new Checkpointer(log, signer, { intervalMs: 60000, file: hostFile, clock, logger: quiet });
    expect(await restarted.signNow()).toMatchObject({ status: 'signed', size: 3 });
    expect(restarted.health()).toEqual({ state: 'ok' });
  });

  test('When the log in Redis is emptied while the checkpointer runs, then it refuses and says so until the log extends what it signed again', async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 3);
    const cp = new Checkpointer(log, generateSigner('unit'), { intervalMs: 60000, file: file(), clock, logger: quiet });
    expect(await cp.signNow()).toMatchObject({ status: 'signed', size: 3 });
    const saved = [...log.state.entries];
    log.state.entries = [];
    log.state.tree = null;
    expect(await cp.signNow()).toMatchObject({ status: 'refused', reason: expect.stringContaining('has 0 entries in Redis, but 3 were signed') });
    log.state.entries = saved; // restored from a backup taken after the checkpoint
    log.state.tree = null;
    expect(await cp.signNow()).toMatchObject({ status: 'unchanged', size: 3 });
    expect(cp.health()).toEqual({ state: 'ok' });
  });

  test('When the last checkpoint is signed by an unknown key, then it starts over from the log instead of trusting it', async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 3);
    await new Checkpointer(log, generateSigner('old'), { intervalMs: 60000, file: file(), clock, logger: quiet }).signNow();
    const r = await new Checkpointer(log, generateSigner('new'), { intervalMs: 60000, file: file(), clock, logger: quiet }).signNow();
    expect(r).toMatchObject({ status: 'signed', size: 3 });
  });

  test('When the key is rotated and the old one is trusted, then the new key continues from the old checkpoint (nothing re-signed), and both verify', async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 3);
    const oldKey = generateSigner('old');
    await new Checkpointer(log, oldKey, { intervalMs: 60000, file: file(), clock, logger: quiet }).signNow();
    const rotated = new Checkpointer(log, generateSigner('new'), { intervalMs: 60000, file: file(), clock, logger: quiet, trusted: [verifierOf(oldKey)] });
    expect(await rotated.signNow()).toEqual({ status: 'unchanged', size: 3 });
    await add(log, 2);
    expect(await rotated.signNow()).toMatchObject({ status: 'signed', size: 5 });
    expect(log.state.checkpoints.map((c) => c.note.split('\n').find((l) => l.startsWith('— '))?.split(' ')[1])).toEqual(['old', 'new']);
  });

  test('When a log was begun before Merkle trees (no tree kept in Redis), then its tree is computed from its entries and signed', async () => {
    const log = new MemoryLedgerStore('pbx1');
    await add(log, 6);
    const withTree = log.state.tree;
    log.state.tree = null; // what head() reports for such a log
    const r = await new Checkpointer(log, generateSigner('unit'), { intervalMs: 60000, file: file(), clock, logger: quiet }).signNow();
    expect(r).toMatchObject({ status: 'signed', size: 6 });
    expect(log.state.checkpoints[0]?.tree).toBe(withTree);
  });

  test('Origins name the log, and only ours parse back', () => {
    expect(logOfOrigin(originOf('pbx-1.example'))).toBe('pbx-1.example');
    expect(logOfOrigin(originOf(''))).toBe('');
    expect(logOfOrigin('sum.golang.org')).toBeNull();
    expect(logOfOrigin('consent-ivr/a b')).toBeNull();
  });
});

describe('sealer', () => {
  const rec = (over: Partial<ConsentRecord> = {}): ConsentRecord =>
    testRecord({ uniqueId: 'c.1', outcome: 'accepted', recording: testRecording('/rec/2026/11/30/c.1.wav', 'srv', '2026-11-30T11:59:00.000Z'), ...over });

  function setup(files: Map<string, FileState | null>, live = new Set<string>(), stored: (ConsentRecord & { erasedAt?: string | null }) | null = rec()) {
    const appended: AppendItem[] = [];
    const unsealed = new Map<string, UnsealedRecording>();
    const sealer = new Sealer(
      {
        evidence: {
          markUnsealed: async (_s, u) => void unsealed.set(u.uniqueId, u),
          readUnsealed: async () => ({ items: [...unsealed.values()], malformed: [] }),
          clearUnsealed: async (_s, id) => void unsealed.delete(id),
        },
        ledger: { appendEvent: async (i) => void appended.push(i), find: async () => stored },
        channels: { liveChannelIds: async () => live },
        files: { inspect: async (p) => files.get(p) ?? null },
        clock,
      },
      { serverId: 'srv', log: 'pbx1', recordingDir: '/rec', pollMs: 1000, settleMs: 0 },
      quiet,
    );
    return { sealer, appended, unsealed };
  }

  const closed: FileState = { size: 32044, sha256: 'ab'.repeat(32), durationMs: 2000, closed: true };

  test('When the call is still on, then nothing is sealed; once it ended and the file is closed, the seal goes into the log, once', async () => {
    const live = new Set(['c.1']);
    const { sealer, appended, unsealed } = setup(new Map([['/rec/2026/11/30/c.1.wav', closed]]), live);
    sealer.track(rec());
    expect(await sealer.pass()).toBe(0);
    expect(unsealed.has('c.1')).toBe(true);
    live.clear();
    expect(await sealer.pass()).toBe(1);
    expect(await sealer.pass()).toBe(0);
    expect(appended).toHaveLength(1);
    expect(JSON.parse(appended[0]?.body ?? '{}')).toMatchObject({ type: 'seal', uniqueId: 'c.1', file: '2026/11/30/c.1.wav', sha256: closed.sha256, size: 32044, durationMs: 2000, reason: 'call-end', server: 'srv' });
    expect(appended[0]?.record).toMatchObject({ uniqueId: 'c.1', stage: -1 });
    expect(unsealed.size).toBe(0);
  });

  test('When the file is not closed yet, then it waits; a recording stopped during the call is sealed without waiting for the hang-up', async () => {
    const files = new Map<string, FileState | null>([['/rec/2026/11/30/c.1.wav', { ...closed, closed: false }]]);
    const { sealer, appended } = setup(files, new Set(['c.1']));
    sealer.track(rec());
    sealer.closed('c.1', 'withdrawal');
    expect(await sealer.pass()).toBe(0); // first sight of this size
    files.set('/rec/2026/11/30/c.1.wav', closed);
    expect(await sealer.pass()).toBe(1);
    expect(JSON.parse(appended[0]?.body ?? '{}')).toMatchObject({ reason: 'withdrawal' });
  });

  test('When the file was deleted on purpose (erased, withdrawn with delete), then nothing is sealed and it is no longer waited for', async () => {
    const { sealer, appended, unsealed } = setup(new Map(), new Set(), rec({ withdrawal: { at: '2026-11-30T12:00:00.000Z', by: 'caller', recording: 'deleted' }, recording: null }));
    sealer.track(rec());
    expect(await sealer.pass()).toBe(0);
    expect(appended).toHaveLength(0);
    expect(unsealed.size).toBe(0);
    expect(sealer.backlog).toBe(0);
  });

  test('When a recording is held by another server, or none was made, then this server does not track it', () => {
    const { sealer } = setup(new Map());
    sealer.track(rec({ recording: testRecording('/rec/2026/11/30/c.1.wav', 'other') }));
    sealer.track(rec({ uniqueId: 'c.2', recording: null }));
    expect(sealer.backlog).toBe(0);
  });
});
