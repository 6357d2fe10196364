/** Reading Redis replies: stream entries, anchors, the results of a MULTI or a pipeline. */
import type { ChainHead, StoredChainEntry } from '../../ledger';

export type RawEntry = [string, string[]];

export function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

export function toEntry(raw: RawEntry): StoredChainEntry {
  const f = fieldsOf(raw[1]);
  return { id: raw[0], seq: Number(f.seq), prev: f.prev ?? '', hash: f.hash ?? '', body: f.body ?? '' };
}

export function parseAnchor(v: unknown): ChainHead | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+):([0-9a-f]+)$/.exec(v);
  return m ? { seq: Number(m[1]), hash: String(m[2]) } : null;
}

/** Results of a MULTI/pipeline: throws the first command error. */
export function results(res: [Error | null, unknown][] | null): unknown[] {
  if (!res) throw new Error('Redis transaction aborted');
  return res.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}
