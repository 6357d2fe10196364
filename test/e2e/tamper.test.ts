/**
 * The ledger as someone who can write to Redis (but holds neither the signing key nor the host's
 * files) would attack it, and as Redis loses data while the service runs — against the real sandbox
 * (Asterisk, Redis) and the service's real entry point. The host's checkpoint file is the ground
 * truth: the CLI runs with the service's file, as it does on the service's host.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { logBase } from '../../src/adapters/redis/keys';
import { entryLeaf } from '../../src/ledger/appender';
import { entryHash } from '../../src/ledger/chain';
import { Frontier } from '../../src/ledger/merkle';
import { parseStoredRecord, serialiseRecord, sha256Hex } from '../../src/ledger/record';
import { callsLeft, eventually, placeCall, promptSeconds, RunningApp, runCli, sandbox, startApp, TestAmi } from '../support';

let ami: TestAmi;
let raw: Redis;

beforeAll(async () => {
  sandbox();
  ami = new TestAmi();
  await ami.start();
  raw = new Redis(sandbox().redis.url);
});

afterAll(async () => {
  ami?.close();
  await raw?.quit();
});

const tag = () => Math.random().toString(36).slice(2, 8);

interface Case {
  app: RunningApp;
  env: Record<string, string>;
  prefix: string;
  base: string;
  cli(args: string[]): ReturnType<typeof runCli>;
}

/** A service of its own (own key prefix, log and checkpoint file), signing every second. */
async function startCase(): Promise<Case> {
  const prefix = `tamper-${tag()}:`;
  const env = { CONSENT_IVR_REDIS_KEY_PREFIX: prefix, CONSENT_IVR_LEDGER_CHECKPOINT_INTERVAL_MS: '1000', CONSENT_IVR_SERVER_ID: `tp-${tag()}` };
  const app = await startApp(env);
  const base = logBase(prefix, app.name);
  // The CLI of the service's host: same log, same checkpoint file.
  const cli = (args: string[]) => runCli(args, { ...env, CONSENT_IVR_LEDGER_LOG: app.name, CONSENT_IVR_LEDGER_CHECKPOINT_FILE: app.checkpointFile }, 60000);
  return { app, env, prefix, base, cli };
}

/** A call that presses `key` (1 accept, 2 refuse) and hangs up after the confirmation. */
async function call(c: Case, key: '1' | '2', callerNum: string): Promise<string> {
  const p = await placeCall(ami, { app: c.app.name, w1: 1.5, k1: key, talk: Math.ceil(promptSeconds('ar', key === '1' ? 'accepted' : 'refused') + 1), callerNum });
  const r = await p.result;
  expect(r).toMatchObject({ result: key === '1' ? 'accepted' : 'refused' });
  return String(r.id);
}

/** Waits until the service signed a checkpoint of at least `size` entries. */
async function signedAtLeast(c: Case, size: number): Promise<void> {
  await c.app.waitForLog((l) => l.message === 'checkpoint signed' && Number(l.size) >= size, 20000, `a checkpoint of ${size} entries`);
}

type Raw = [string, string[]];
interface Entry {
  id: string;
  seq: number;
  prev: string;
  hash: string;
  body: string;
}

async function entries(c: Case): Promise<Entry[]> {
  const rows = (await raw.xrange(`${c.base}chain`, '-', '+')) as Raw[];
  return rows.map(([id, f]) => {
    const m = new Map<string, string>();
    for (let i = 0; i + 1 < f.length; i += 2) m.set(String(f[i]), String(f[i + 1]));
    return { id, seq: Number(m.get('seq')), prev: String(m.get('prev')), hash: String(m.get('hash')), body: String(m.get('body')) };
  });
}

/** Writes the log back with every hash recomputed from the first entry on, and its tree: a forgery that links. */
async function rewrite(c: Case, list: Entry[]): Promise<void> {
  const tree = new Frontier();
  let prev = '0'.repeat(64);
  await raw.del(`${c.base}chain`);
  for (const [i, e] of list.entries()) {
    const seq = i + 1;
    const hash = entryHash(seq, prev, e.body);
    await raw.xadd(`${c.base}chain`, `${seq}-0`, 'seq', String(seq), 'prev', prev, 'hash', hash, 'body', e.body);
    tree.append(entryLeaf({ hash }));
    prev = hash;
  }
  await raw.set(`${c.base}tree`, tree.toString());
}

describe('a Redis writer rewrites a decision and deletes the checkpoints kept in Redis', () => {
  let c: Case;
  let refused: string;

  beforeAll(async () => {
    c = await startCase();
    refused = await call(c, '2', '+212600007001');
    await signedAtLeast(c, 2);
  }, 120000);

  afterAll(async () => {
    if (c) await c.app.stop();
  });

  test('When refused becomes accepted with every hash, the tree and the record recomputed, then verify, the CLI and the running service all refuse it', async () => {
    const list = await entries(c);
    const forged = [...list];
    // The record says accepted; its outcome entry carries the digest of the forged record.
    const recKey = `${c.base}rec:${refused}`;
    const record = parseStoredRecord(String(await raw.hget(recKey, 'record')));
    const fake = serialiseRecord({ ...record, outcome: 'accepted', digit: '1' });
    const at = forged.findIndex((e) => e.body.includes(refused) && e.body.includes('"outcome"'));
    expect(at).toBeGreaterThanOrEqual(0);
    const body = JSON.parse((forged[at] as Entry).body) as Record<string, unknown>;
    forged[at] = { ...(forged[at] as Entry), body: JSON.stringify({ ...body, outcome: 'accepted', recordDigest: sha256Hex(fake) }) };
    await rewrite(c, forged);
    await raw.hset(recKey, 'record', fake);
    await raw.del(`${c.base}checkpoints`);

    const v = await c.cli(['ledger', 'verify']);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain('MISMATCH');
    expect(v.stdout).toContain(c.app.checkpointFile);
    expect(v.stdout).toContain('ledger verification FAILED');

    const cp = await c.cli(['ledger', 'checkpoint']);
    expect(cp.code).toBe(1);
    expect(cp.stderr).toContain('REFUSED to sign');

    const ev = await c.cli(['ledger', 'evidence', refused, '--out', `${sandbox().stateDir}/tamper-${tag()}.json`]);
    expect(ev.code).not.toBe(0);

    // The running service, at its next interval: refuses, loudly, and signs nothing.
    const line = await c.app.waitForLog((l) => l.message === 'checkpoint REFUSED: the log is not a consistent extension of what was signed; calls go on being stored, unsigned', 20000, 'the refusal');
    expect(line).toMatchObject({ level: 'error', log: c.app.name });
    expect(await c.app.metric('consent_ivr_checkpoint_refusals_total', { log: c.app.name })).toBeGreaterThanOrEqual(1);
    expect(await c.app.metric('consent_ivr_checkpoint_refused')).toBe(1);
    expect(await raw.xlen(`${c.base}checkpoints`)).toBe(0);

    // Calls go on being decided and stored.
    const next = await call(c, '2', '+212600007002');
    await eventually(async () => (await raw.hget(`${c.base}rec:${next}`, 'record')) !== null, 10000, 'the next call stored');
    expect(await raw.xlen(`${c.base}checkpoints`)).toBe(0);
  }, 120000);
});

describe('a Redis writer removes the last call whole, its checkpoints and its tree', () => {
  let c: Case;

  beforeAll(async () => {
    c = await startCase();
    await call(c, '2', '+212600007011');
    await call(c, '2', '+212600007012');
    await signedAtLeast(c, 4);
  }, 120000);

  afterAll(async () => {
    if (c) await c.app.stop();
  });

  test("When its entries, record and index members are gone, then verify fails from the host's file and the service refuses to sign the shortened log", async () => {
    const list = await entries(c);
    const last = JSON.parse((list[list.length - 1] as Entry).body) as { uniqueId: string };
    const kept = list.filter((e) => !e.body.includes(last.uniqueId));
    await rewrite(c, kept);
    await raw.del(`${c.base}rec:${last.uniqueId}`, `${c.base}checkpoints`, `${c.base}tree`);
    await raw.zrem(`${c.base}idx:entered`, last.uniqueId);
    await raw.call('XSETID', `${c.base}chain`, `${kept.length}-0`);

    const v = await c.cli(['ledger', 'verify']);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/TRUNCATED|LOST/);
    expect(v.stdout).toContain(`the log now holds ${kept.length}`);
    await c.app.waitForLog((l) => l.message?.toString().startsWith('checkpoint REFUSED') === true, 20000, 'the refusal');
    expect(await raw.xlen(`${c.base}checkpoints`)).toBe(0);
  }, 120000);
});

describe('Redis loses the ledger while the service runs', () => {
  let c: Case;

  beforeAll(async () => {
    c = await startCase();
    await call(c, '2', '+212600007021');
    await signedAtLeast(c, 2);
  }, 120000);

  afterAll(async () => {
    if (c) await c.app.stop();
  });

  test('When every key of the ledger is gone, then the calls decided afterwards are stored and listed, verify, the report and the service say what was lost, and once the loss is accepted signing goes on', async () => {
    const copy = `${sandbox().stateDir}/tamper-copy-${tag()}.jsonl`;
    expect((await c.cli(['ledger', 'checkpoint', '--no-sign', '--out', copy])).code).toBe(0);
    // FLUSHDB, for this ledger only (the sandbox's Redis is shared).
    const keys = await raw.keys(`${c.prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    await raw.del(...keys);

    const after = [await call(c, '2', '+212600007022'), await call(c, '1', '+212600007023')];
    const list = await c.cli(['ledger', 'list', '--json']);
    expect(list.code).toBe(0);
    for (const id of after) expect(list.stdout).toContain(id);

    const line = await c.app.waitForLog((l) => String(l.message).startsWith('ledger: the log in Redis lost entries'), 20000, 'the loss logged');
    expect(line).toMatchObject({ level: 'error', to: 0 });
    expect(Number(line.from)).toBeGreaterThanOrEqual(2);
    expect(await c.app.metric('consent_ivr_ledger_regressions_total', { log: c.app.name })).toBeGreaterThanOrEqual(1);

    const v = await c.cli(['ledger', 'verify']);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(new RegExp(`log ${c.app.name}:[\\s\\S]*LOST: \\d+ entries were signed \\(${c.app.checkpointFile.replace(/[.]/g, '\\.')}\\); the log now holds \\d+`));

    const out = `${sandbox().stateDir}/tamper-report-${tag()}.html`;
    const rep = await c.cli(['report', '--out', out]);
    expect(rep.stderr).toContain('ledger verification FAILED');
    expect(readFileSync(out, 'utf8')).not.toMatch(/id="ledger-state">vérifié/);

    await c.app.waitForLog((l) => String(l.message).startsWith('checkpoint REFUSED'), 20000, 'the refusal to sign the new log over the lost one');

    // The administrator records the loss; signing goes on from the log as it is, and the loss stays visible.
    expect((await c.cli(['ledger', 'accept-loss', '--reason', 'too short'])).code).toBe(2);
    const accepted = await c.cli(['ledger', 'accept-loss', '--reason', 'Redis restarted without persistence on 2026-12-01; nothing to restore']);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toMatch(/loss accepted: \d+ entries had been signed/);
    await eventually(async () => (await c.app.metric('consent_ivr_checkpoint_refused')) === 0, 20000, 'the service to stop refusing', 500);
    const since = Date.now();
    await call(c, '2', '+212600007024');
    await c.app.waitForLog((l) => l.message === 'checkpoint signed' && Date.parse(String(l.timestamp)) >= since, 20000, 'the service signing the next call');
    const after2 = await c.cli(['ledger', 'verify']);
    expect(after2.code).toBe(0);
    expect(after2.stdout).toMatch(/LOSS ACCEPTED at .*: \d+ entries had been signed; .*reason: Redis restarted without persistence/);
    // A copy of the checkpoints taken before the loss still shows it.
    const fromCopy = await c.cli(['ledger', 'verify', '--checkpoint', copy]);
    expect(fromCopy.code).toBe(1);
    expect((await c.cli(['ledger', 'accept-loss', '--reason', 'Redis restarted without persistence, again']).then((r) => r.stdout))).toContain('there is no loss to accept');
  }, 180000);
});

describe('a Redis writer rolls a record back, hides a log or a record from the indexes, edits a bundle', () => {
  let c: Case;
  let accepted: string;
  let refused: string;

  beforeAll(async () => {
    c = await startCase();
    accepted = await call(c, '1', '+212600007031');
    refused = await call(c, '2', '+212600007032');
    await c.app.waitForLog((l) => l.call === accepted && l.message === 'recording sealed', 30000, 'the seal');
    await eventually(async () => (await c.cli(['ledger', 'verify'])).code === 0, 20000, 'a checkpoint over everything', 1000);
  }, 180000);

  afterAll(async () => {
    if (c) await c.app.stop();
  });

  test('When the log is taken out of the list of logs, then verify still checks it and says so', async () => {
    await raw.srem(`${c.prefix}{ledger}:logs`, c.app.name);
    try {
      const v = await c.cli(['ledger', 'verify']);
      expect(v.code).toBe(1);
      expect(v.stdout).toContain(`log ${c.app.name}:`);
      expect(v.stdout).toContain('UNREGISTERED');
    } finally {
      await raw.sadd(`${c.prefix}{ledger}:logs`, c.app.name);
    }
  }, 60000);

  test('When a record is edited and taken out of the time index, then verify finds it by scanning', async () => {
    const key = `${c.base}rec:${refused}`;
    const original = String(await raw.hget(key, 'record'));
    const score = String(await raw.zscore(`${c.base}idx:entered`, refused));
    await raw.hset(key, 'record', original.replace('"refused"', '"accepted"'));
    await raw.zrem(`${c.base}idx:entered`, refused);
    try {
      const v = await c.cli(['ledger', 'verify']);
      expect(v.code).toBe(1);
      expect(v.stdout).toContain(`record ${refused}`);
    } finally {
      await raw.hset(key, 'record', original);
      await raw.zadd(`${c.base}idx:entered`, score, refused);
    }
    expect((await c.cli(['ledger', 'verify'])).code).toBe(0);
  }, 60000);

  test("When a record is added to another caller's index, then verify says an erasure of that caller would reach it", async () => {
    const mine = parseStoredRecord(String(await raw.hget(`${c.base}rec:${accepted}`, 'record'))).callerPseudonym;
    const other = parseStoredRecord(String(await raw.hget(`${c.base}rec:${refused}`, 'record'))).callerPseudonym;
    expect(mine).not.toBe(other);
    await raw.sadd(`${c.base}idx:caller:${other}`, accepted);
    try {
      const v = await c.cli(['ledger', 'verify']);
      expect(v.code).toBe(1);
      expect(v.stdout).toContain(`names record ${accepted}, which is another caller's: an erasure of that caller would reach it`);
    } finally {
      await raw.srem(`${c.base}idx:caller:${other}`, accepted);
    }
    expect((await c.cli(['ledger', 'verify'])).code).toBe(0);
  }, 60000);

  test('When a record is put back to an earlier state (its seq at the earlier entry), then verify says it is not the latest state', async () => {
    const key = `${c.base}rec:${accepted}`;
    const [json, seq] = (await raw.hmget(key, 'record', 'seq')) as [string, string];
    const list = await entries(c);
    const decision = list.find((e) => e.body.includes(accepted) && e.body.includes('"decision"')) as Entry;
    const earlier = parseStoredRecord(json);
    // The record as the decision wrote it (before the recording started), pointing at the decision entry.
    const rolled = serialiseRecord({ ...earlier, recording: null });
    await raw.hset(key, 'record', rolled, 'seq', String(decision.seq));
    try {
      const v = await c.cli(['ledger', 'verify']);
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(new RegExp(`record ${accepted.replace('.', '\\.')}: it is not the latest state of its call`));
    } finally {
      await raw.hset(key, 'record', json, 'seq', seq);
    }
  }, 60000);

  test('When an entry in the middle of a bundle is dropped, and the record pointed at the entry before it, then evidence verify names the gap', async () => {
    const file = `${sandbox().stateDir}/tamper-bundle-${tag()}.json`;
    const made = await c.cli(['ledger', 'evidence', accepted, '--out', file]);
    expect(made.code).toBe(0);
    const pub = `${sandbox().stateDir}/ledger-signing-key.pub`;
    expect((await runCli(['evidence', 'verify', file, '--key', pub])).code).toBe(0);
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as { entries: { seq: number; body: string }[]; recordSeq: number };
    // decision, outcome, seal: drop the outcome and point the record at the decision.
    const outcome = bundle.entries.find((e) => e.body.includes('"outcome"')) as { seq: number };
    const decision = bundle.entries.find((e) => e.body.includes('"decision"')) as { seq: number };
    bundle.entries = bundle.entries.filter((e) => e.seq !== outcome.seq);
    bundle.recordSeq = decision.seq;
    writeFileSync(file, JSON.stringify(bundle));
    const r = await runCli(['evidence', 'verify', file, '--key', pub]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/leaves out|not the latest state/);
    expect(await callsLeft(c.app.name, [accepted, refused])).toEqual([]);
  }, 60000);
});
