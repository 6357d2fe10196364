/**
 * The first layer of the ledger's store over Redis (see ledger-store.ts): the connection and the keys of
 * one log, and what is kept under the keys all logs share: the registered logs, the notices, the
 * recordings not sealed yet, the erasure marks, the deletion queues, the legal holds and the locks.
 */
import { byPlacement, checkErasureMark, checkHold, checkPendingDeletion, checkRecordingKey, checkUnsealed, parseConfirmation, readEntries, serialiseHold, type QueueRead } from '../../ledger';
import type { DeletionConfirmation, DeletionQueue, DestroyedKey, EvidenceStore, Hold, HoldStore, NoticeCatalogue, PendingDeletion, RecordingKey, UnsealedRecording } from '../../ledger';
import type { RedisClient } from './client';
import { logKeys, sharedKeys, type LogKeys, type SharedKeys } from './keys';
import { putKeyScript, unlockScript } from './scripts';

export abstract class RedisSharedStore implements DeletionQueue, EvidenceStore, HoldStore {
  readonly keys: LogKeys;
  readonly shared: SharedKeys;

  constructor(
    protected readonly client: RedisClient,
    protected readonly keyPrefix: string,
    readonly log: string,
  ) {
    this.keys = logKeys(keyPrefix, log);
    this.shared = sharedKeys(keyPrefix);
  }

  async registerLog(log: string): Promise<void> {
    await this.client.call('SADD', this.shared.logs, log);
  }

  async saveNotice(n: NoticeCatalogue): Promise<void> {
    await this.client.call('HSETNX', this.shared.notices, n.version, JSON.stringify(n));
  }

  async notice(version: string): Promise<NoticeCatalogue | null> {
    const v = (await this.client.call('HGET', this.shared.notices, version)) as string | null;
    return v ? (JSON.parse(v) as NoticeCatalogue) : null;
  }

  async markUnsealed(server: string, u: UnsealedRecording): Promise<void> {
    await this.client.call('HSET', this.shared.unsealed(server), u.uniqueId, JSON.stringify(u));
  }

  async unsealed(server: string): Promise<UnsealedRecording[]> {
    return (await this.readUnsealed(server)).items;
  }

  async readUnsealed(server: string): Promise<QueueRead<UnsealedRecording>> {
    const key = this.shared.unsealed(server);
    const read = readEntries('unsealed', key, (await this.client.call('HGETALL', key)) as string[], checkUnsealed);
    read.items.sort((a, b) => a.sinceMs - b.sinceMs);
    return read;
  }

  async clearUnsealed(server: string, uniqueId: string): Promise<void> {
    await this.client.call('HDEL', this.shared.unsealed(server), uniqueId);
  }

  async putRecordingKey(k: RecordingKey): Promise<boolean> {
    return (await putKeyScript.run(this.client, [this.shared.recordingKeys], [k.uniqueId, JSON.stringify(k)])) === 1;
  }

  async recordingKey(uniqueId: string): Promise<RecordingKey | DestroyedKey | null> {
    const v = (await this.client.call('HGET', this.shared.recordingKeys, uniqueId)) as string | null;
    if (v === null) return null;
    const r = checkRecordingKey(uniqueId, v);
    if ('problem' in r) throw new Error(`the key of recording ${uniqueId} in Redis is not one the service wrote: ${r.problem}`);
    return r.ok;
  }

  async destroyRecordingKey(uniqueId: string, atMs: number, tombstone: boolean): Promise<boolean> {
    const key = this.shared.recordingKeys;
    const before = (await this.client.call('HGET', key, uniqueId)) as string | null;
    const had = before !== null;
    if (tombstone) {
      const mark: DestroyedKey = { uniqueId, destroyedAtMs: atMs };
      if (!before?.includes('"destroyedAtMs"')) await this.client.call('HSET', key, uniqueId, JSON.stringify(mark));
    } else if (before !== null) {
      await this.client.call('HDEL', key, uniqueId);
    }
    return had;
  }

  async markErased(pseudonym: string, atMs: number): Promise<void> {
    await this.client.call('HSET', this.shared.erasures, pseudonym, String(atMs));
  }

  async erasureMarks(): Promise<Map<string, number>> {
    return new Map((await this.readErasureMarks()).items);
  }

  async readErasureMarks(): Promise<QueueRead<[string, number]>> {
    return readEntries('erasures', this.shared.erasures, (await this.client.call('HGETALL', this.shared.erasures)) as string[], checkErasureMark);
  }

  async forgetErasures(pseudonyms: string[]): Promise<void> {
    if (pseudonyms.length > 0) await this.client.call('HDEL', this.shared.erasures, ...pseudonyms);
  }

  async queueDeletion(server: string, d: PendingDeletion): Promise<void> {
    // HSETNX: queued again by a later erase or purge, a deletion keeps its first time (its age).
    await this.client.multi().sadd(this.shared.deletionServers, server).hsetnx(this.shared.deletions(server), d.uniqueId, JSON.stringify(d)).exec();
  }

  async pendingDeletions(server: string): Promise<PendingDeletion[]> {
    return (await this.readDeletions(server)).items;
  }

  async readDeletions(server: string): Promise<QueueRead<PendingDeletion>> {
    const key = this.shared.deletions(server);
    const read = readEntries('deletions', key, (await this.client.call('HGETALL', key)) as string[], checkPendingDeletion);
    read.items.sort((a, b) => a.requestedAt - b.requestedAt);
    return read;
  }

  async deletionServers(): Promise<string[]> {
    return ((await this.client.call('SMEMBERS', this.shared.deletionServers)) as string[]).sort();
  }

  async confirmDeletion(server: string, uniqueId: string, result: DeletionConfirmation['result'], atMs: number): Promise<void> {
    const confirmation: DeletionConfirmation = { server, result, atMs };
    await this.client.multi().hdel(this.shared.deletions(server), uniqueId).hset(this.shared.deletionsDone, uniqueId, JSON.stringify(confirmation)).exec();
  }

  async deletionConfirmations(uniqueIds: string[]): Promise<(DeletionConfirmation | null)[]> {
    if (uniqueIds.length === 0) return [];
    const values = (await this.client.call('HMGET', this.shared.deletionsDone, ...uniqueIds)) as (string | null)[];
    return values.map((v) => (v ? parseConfirmation(v) : null));
  }

  async forgetConfirmations(uniqueIds: string[]): Promise<void> {
    if (uniqueIds.length > 0) await this.client.call('HDEL', this.shared.deletionsDone, ...uniqueIds);
  }

  async cancelDeletions(server: string, uniqueIds: string[]): Promise<void> {
    if (uniqueIds.length > 0) await this.client.call('HDEL', this.shared.deletions(server), ...uniqueIds);
  }

  async putHold(hold: Hold): Promise<void> {
    await this.client.call('HSET', this.shared.holds, hold.id, serialiseHold(hold));
  }

  async readHolds(): Promise<QueueRead<Hold>> {
    const read = readEntries('holds', this.shared.holds, (await this.client.call('HGETALL', this.shared.holds)) as string[], checkHold);
    read.items.sort(byPlacement);
    return read;
  }

  async removeHold(id: string): Promise<void> {
    await this.client.call('HDEL', this.shared.holds, id);
  }

  async lock(name: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const key = this.shared.lock(name);
    const token = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const ok = await this.client.call('SET', key, token, 'NX', 'PX', ttlMs);
    if (ok !== 'OK') return null;
    return async () => {
      await unlockScript.run(this.client, [key], [token]);
    };
  }
}
