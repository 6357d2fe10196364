/**
 * Seals this server's recordings once Asterisk has closed them: at the end of the call, or earlier when
 * the recording was stopped during it (withdrawal, a pause that came too late). The seal (SHA-256, size,
 * duration) goes into the call's log; the recordings waiting for it are kept in Redis, so a restart
 * loses none. Only the server holding a file seals it (the same rule as its deletion). That list is
 * read entry by entry: one that is not what the service writes is reported once and left, and a call
 * whose record cannot be read is sealed all the same (the seal does not need the record).
 *
 * Where the call's profile encrypts its recordings, the sealer has the file encrypted first
 * (recordings/protect.ts), seals the encrypted file, and only then has the plaintext removed; at start-up
 * (`recover`) it does this for every plaintext whose header says Asterisk closed it, before anything else.
 */
import type { FileState } from './seal';
import { relativeToDir, sealEvent } from './seal';
import type { AppendItem, EvidenceStore, RecordingSeal, SealEncryption, SealReason, UnsealedRecording } from '../ledger';
import { safe, type Logger } from '../observability/logger';
import { Periodic, type Clock } from '../ports/clock';
import type { ConsentRecord } from '../ports/ledger';
import type { ServiceObserver } from '../ports/observer';
import { QueueReports } from '../ledger';

/** An encrypted file as its seal states it. */
export interface ProtectedSeal {
  path: string;
  sha256: string;
  size: number;
  /** The plaintext's duration. */
  durationMs: number;
  encryption: SealEncryption;
}

/** Encryption of closed recordings (recordings/protect.ts): absent when no profile encrypts. */
export interface SealProtector {
  encrypts(profile: string | null | undefined): boolean;
  protect(job: {
    uniqueId: string;
    path: string;
    profile: string | null;
    plaintext: { sha256: string; size: number; durationMs: number };
    relativePath(path: string): string | null;
  }): Promise<ProtectedSeal | 'erased'>;
  resume(uniqueId: string, path: string): Promise<ProtectedSeal | null>;
  removePlaintext(path: string): Promise<void>;
}

export interface SealerPorts {
  evidence: Pick<EvidenceStore, 'markUnsealed' | 'readUnsealed' | 'clearUnsealed'>;
  ledger: { appendEvent(item: AppendItem): Promise<void>; find(uniqueId: string): Promise<(ConsentRecord & { erasedAt?: string | null }) | null> };
  /** Ids of the channels Asterisk has now. */
  channels: { liveChannelIds(): Promise<Set<string>> };
  files: { inspect(path: string): Promise<FileState | null> };
  clock: Clock;
  protector?: SealProtector | null;
}

export interface SealerSettings {
  serverId: string;
  log: string;
  recordingDir: string;
  pollMs: number;
  /** A file whose header never says closed is sealed once its size has not changed for this long after the call. */
  settleMs?: number;
  /** A file still missing this long after the call is reported and no longer waited for. */
  missingAfterMs?: number;
}

interface Waiting extends UnsealedRecording {
  persisted: boolean;
  /** When the call was first seen ended (or the recording stopped). */
  endedAt?: number;
  lastSize?: number;
  lastSizeAt?: number;
}

export class Sealer {
  private readonly waiting = new Map<string, Waiting>();
  private readonly runs: Periodic<number>;
  private stopped = false;
  private loaded = false;
  private readonly reports: QueueReports;

  constructor(
    private readonly ports: SealerPorts,
    private readonly settings: SealerSettings,
    private readonly log: Logger,
    private readonly observer: Pick<ServiceObserver, 'sealed' | 'queueEntryMalformed'> = {},
  ) {
    this.reports = new QueueReports(log, observer);
    this.runs = new Periodic(ports.clock, settings.pollMs, () =>
      this.sealClosed().catch((e: Error) => {
        this.log.debug('seal pass not done', { error: safe(e.message) });
        return 0;
      }),
    );
  }

  start(): void {
    this.runs.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.runs.stop();
  }

  /** Recordings waiting for their seal. */
  get backlog(): number {
    return this.waiting.size;
  }

  /** A recording this server holds has started: it gets sealed when closed. */
  track(record: ConsentRecord): void {
    const file = record.recording?.file;
    if (!file || file.server !== this.settings.serverId || this.waiting.has(record.uniqueId)) return;
    const w: Waiting = {
      uniqueId: record.uniqueId,
      log: this.settings.log,
      path: file.path,
      sinceMs: Date.parse(record.recording?.startedAt ?? record.enteredAt),
      persisted: false,
    };
    if (record.profile) w.profile = record.profile;
    this.waiting.set(w.uniqueId, w);
    void this.persist(w);
  }

  /** The recording was stopped during the call: seal it without waiting for the hangup. */
  closed(uniqueId: string, reason: SealReason): void {
    const w = this.waiting.get(uniqueId);
    if (!w || w.stopped) return;
    w.stopped = reason;
    w.persisted = false;
    void this.persist(w);
    this.nudge();
  }

  nudge(): void {
    if (!this.runs.busy) void this.pass();
  }

  /** One pass over the recordings waiting; resolves with the number sealed. Passes never overlap. */
  pass(): Promise<number> {
    return this.runs.runNow();
  }

  private async persist(w: Waiting): Promise<void> {
    const u: UnsealedRecording = { uniqueId: w.uniqueId, log: w.log, path: w.path, sinceMs: w.sinceMs };
    if (w.stopped) u.stopped = w.stopped;
    if (w.profile) u.profile = w.profile;
    try {
      await this.ports.evidence.markUnsealed(this.settings.serverId, u);
      w.persisted = true;
    } catch {
      // kept in memory; written by the next pass
    }
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    const { items, malformed } = await this.ports.evidence.readUnsealed(this.settings.serverId);
    for (const m of malformed) this.reports.report({ queue: m.queue, key: m.key, field: m.field, problem: m.problem });
    for (const u of items) {
      if (u.log === this.settings.log && !this.waiting.has(u.uniqueId)) this.waiting.set(u.uniqueId, { ...u, persisted: true });
    }
    this.loaded = true;
  }

  /**
   * At start-up, before the service takes calls: seals (encrypting first, where the profile says so)
   * every recording waiting whose file Asterisk has closed by its header, without asking Asterisk which
   * calls are live. Resolves with the number sealed; a recording that cannot be done now waits for the passes.
   */
  async recover(): Promise<number> {
    await this.load();
    const now = this.ports.clock.now().getTime();
    let sealed = 0;
    for (const w of [...this.waiting.values()]) {
      const file = await this.ports.files.inspect(w.path).catch(() => null);
      if (file?.closed !== true && !(file === null && this.ports.protector)) continue;
      w.endedAt ??= now;
      if (await this.sealOne(w, now, file === null)) sealed += 1;
    }
    return sealed;
  }

  private async sealClosed(): Promise<number> {
    await this.load();
    if (this.waiting.size === 0) return 0;
    for (const w of this.waiting.values()) if (!w.persisted) await this.persist(w);
    const live = await this.ports.channels.liveChannelIds();
    const now = this.ports.clock.now().getTime();
    let sealed = 0;
    for (const w of [...this.waiting.values()]) {
      if (this.stopped) break;
      if (!w.stopped && live.has(w.uniqueId)) continue; // still recording
      w.endedAt ??= now;
      if (await this.sealOne(w, now)) sealed += 1;
    }
    return sealed;
  }

  /** Seals one recording if its file is closed; true when sealed. Drops it when there is nothing to seal. */
  private async sealOne(w: Waiting, now: number, onlyResume = false): Promise<boolean> {
    const log = this.log.child({ call: w.uniqueId });
    const file = await this.ports.files.inspect(w.path);
    if (!file) {
      const resumed = await this.ports.protector?.resume(w.uniqueId, w.path);
      if (resumed) return this.sealProtected(w, resumed, log);
      if (onlyResume) return false;
      const rec = await this.record(w);
      if (rec && (rec.erasedAt || rec.withdrawal?.recording === 'deleted' || rec.recording?.file?.path !== w.path)) {
        await this.forget(w); // deleted on purpose: nothing to seal
      } else if (now - (w.endedAt ?? now) > (this.settings.missingAfterMs ?? 60_000)) {
        log.error('recording file missing after the call; it cannot be sealed', { file: safe(relativeToDir(w.path, this.settings.recordingDir) ?? w.path) });
        await this.forget(w);
      }
      return false;
    }
    if (file.closed !== true) {
      // Not closed by its header (or a format without one): wait until it stops growing.
      if (w.lastSize !== file.size) {
        w.lastSize = file.size;
        w.lastSizeAt = now;
        return false;
      }
      if (now - (w.lastSizeAt ?? now) < (this.settings.settleMs ?? 5000)) return false;
    }
    const rel = relativeToDir(w.path, this.settings.recordingDir);
    if (rel === null) {
      log.error('recording is outside recording.dir; not sealed', {});
      await this.forget(w);
      return false;
    }
    const rec = await this.record(w);
    const profile = w.profile ?? rec?.profile ?? null;
    const protector = this.ports.protector;
    if (protector?.encrypts(profile)) {
      let p: ProtectedSeal | 'erased';
      try {
        p = await protector.protect({
          uniqueId: w.uniqueId,
          path: w.path,
          profile,
          plaintext: { sha256: file.sha256, size: file.size, durationMs: file.durationMs },
          relativePath: (path) => relativeToDir(path, this.settings.recordingDir),
        });
      } catch (e) {
        log.error('recording not encrypted yet; the plaintext stays until it is (next pass)', { error: safe((e as Error).message) });
        return false;
      }
      if (p === 'erased') {
        await protector.removePlaintext(w.path);
        await this.forget(w);
        log.info('recording of an erased call removed unsealed');
        return false;
      }
      return this.sealProtected(w, p, log, rec);
    }
    await this.appendSeal(w, rec, { server: this.settings.serverId, file: rel, sha256: file.sha256, size: file.size, durationMs: file.durationMs, reason: w.stopped ?? 'call-end' });
    await this.forget(w);
    log.info('recording sealed', { bytes: file.size, durationMs: file.durationMs, reason: w.stopped ?? 'call-end' });
    this.observer.sealed?.(w.stopped ?? 'call-end');
    return true;
  }

  /** Seals the encrypted file, then removes the plaintext: it never outlives its seal. */
  private async sealProtected(w: Waiting, p: ProtectedSeal, log: Logger, known?: ConsentRecord | null): Promise<boolean> {
    const rel = relativeToDir(p.path, this.settings.recordingDir);
    if (rel === null) return false;
    const rec = known === undefined ? await this.record(w) : known;
    const reason: SealReason = w.stopped ?? 'call-end';
    await this.appendSeal(w, rec, { server: this.settings.serverId, file: rel, sha256: p.sha256, size: p.size, durationMs: p.durationMs, reason, encryption: p.encryption });
    await this.ports.protector?.removePlaintext(w.path);
    await this.forget(w);
    log.info('recording encrypted and sealed', { bytes: p.size, durationMs: p.durationMs, reason, keyId: p.encryption.keyId });
    this.observer.sealed?.(reason);
    return true;
  }

  private async appendSeal(w: Waiting, rec: ConsentRecord | null, seal: RecordingSeal): Promise<void> {
    const enteredMs = rec ? Date.parse(rec.enteredAt) : w.sinceMs;
    await this.ports.ledger.appendEvent(sealEvent(w.uniqueId, enteredMs, seal, this.ports.clock.now()));
  }

  /** The call's record; null when there is none or it cannot be read (reported once: the seal goes on without it). */
  private async record(w: Waiting): Promise<(ConsentRecord & { erasedAt?: string | null }) | null> {
    try {
      return await this.ports.ledger.find(w.uniqueId);
    } catch (e) {
      this.reports.report(
        { queue: 'unsealed', key: w.uniqueId, field: '', problem: `the call's record cannot be read: ${(e as Error).message}` },
        "recording waiting for its seal: the call's record cannot be read; sealed without it",
      );
      return null;
    }
  }

  private async forget(w: Waiting): Promise<void> {
    await this.ports.evidence.clearUnsealed(this.settings.serverId, w.uniqueId);
    this.waiting.delete(w.uniqueId);
  }
}
