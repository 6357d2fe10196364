/** This server's recording files against their seals (`ledger verify --recordings`). */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { AdminContext, AdminStore, StoredChainEntry } from '../ledger';
import { inspectRecording, sealOf } from './seal';
import { readable } from './verify-records';
import type { RecordingsReport } from './verify-report';

/** Checks this server's sealed files as the walk meets their seals, and remembers which files are sealed. */
export class SealSink {
  readonly sealed = new Set<string>();
  readonly report: RecordingsReport;
  constructor(
    private readonly ctx: AdminContext,
    private readonly format: string,
    /** Files waiting for their seal or their deletion (relative to recording.dir). */
    private readonly waitingPaths: Set<string>,
  ) {
    this.report = { server: ctx.serverId, intact: 0, changed: [], missing: [], expectedMissing: [], unexpected: [], waiting: 0 };
  }

  async feed(store: AdminStore, entries: StoredChainEntry[]): Promise<void> {
    for (const e of entries) {
      const seal = sealOf(e.body);
      if (!seal || seal.server !== this.ctx.serverId) continue;
      this.sealed.add(seal.file);
      const f = await inspectRecording(join(this.ctx.recordingDir, seal.file), this.format);
      const finding = { uniqueId: seal.uniqueId, file: seal.file };
      if (f && f.sha256 === seal.sha256 && f.size === seal.size) {
        const rec = await store.getRecord(seal.uniqueId);
        const erasedAt = rec ? readable(rec.json)?.erasedAt ?? null : null;
        if ((!rec || erasedAt) && this.waitingPaths.has(seal.file)) this.report.waiting += 1;
        else if (!rec || erasedAt) {
          this.report.unexpected.push({ ...finding, message: `still present although its record was ${erasedAt ? `erased at ${erasedAt}` : 'purged'} (deletion pending?)` });
        } else this.report.intact += 1;
      } else if (f) {
        this.report.changed.push({ ...finding, message: `differs from its seal of ${seal.at} (${seal.size} bytes, SHA-256 ${seal.sha256.slice(0, 16)}…; now ${f.size} bytes, ${f.sha256.slice(0, 16)}…)` });
      } else {
        const row = await store.getRecord(seal.uniqueId);
        // A record that no longer reads (edited: the record check reports it) is taken as neither erased nor withdrawn.
        const rec = row ? (readable(row.json) ?? { erasedAt: null, withdrawal: null }) : null;
        if (!rec) this.report.expectedMissing.push({ ...finding, message: 'removed by a purge (its record is gone too): expected' });
        else if (rec.erasedAt) this.report.expectedMissing.push({ ...finding, message: `removed by the erasure of ${rec.erasedAt}: expected` });
        else if (rec.withdrawal?.recording === 'deleted') this.report.expectedMissing.push({ ...finding, message: `removed after the withdrawal of ${rec.withdrawal?.at ?? '?'}: expected` });
        else this.report.missing.push({ ...finding, message: `missing: sealed at ${seal.at} and never erased or purged` });
      }
    }
  }

  /** Files in recording.dir that no seal names. */
  async walkDir(): Promise<void> {
    const waitingPaths = this.waitingPaths;
    const walk = async (dir: string, rel: string): Promise<void> => {
      let items;
      try {
        items = await fsp.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const it of items) {
        const r = rel ? `${rel}/${it.name}` : it.name;
        if (it.isDirectory()) await walk(join(dir, it.name), r);
        else if (!this.sealed.has(r)) {
          if (waitingPaths.has(r)) this.report.waiting += 1;
          else this.report.unexpected.push({ uniqueId: null, file: r, message: 'no seal names this file: not a recording this ledger knows was closed' });
        }
      }
    };
    await walk(this.ctx.recordingDir, '');
  }
}
