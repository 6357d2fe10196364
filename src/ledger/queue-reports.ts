/**
 * How the service's workers report a queue entry they set apart (ledger/queues.ts, the AstDB queues):
 * one error line naming the queue, its key and the entry's field — escaped, since whoever wrote the
 * entry chose them — and one count in the metric, once per entry however many passes meet it. The
 * entry stays where it is (for whoever investigates), and the work behind it goes on.
 */
import { createHash } from 'node:crypto';
import { safe, type Logger } from '../observability/logger';
import type { ServiceObserver } from '../ports/observer';

/** Entries remembered as reported; past that many, the memory starts over (some are reported again). */
const REMEMBERED = 10_000;

export interface SetApart {
  queue: string;
  /** Where the entry is: the Redis key or AstDB key of the queue, and the entry's field in it ('' when the key is the entry). */
  key: string;
  field: string;
  /** What is wrong (the service's words). */
  problem: string;
  /** The entry's value, if known: only to tell a changed entry from one already reported (never logged); else the problem does. */
  value?: string;
}

export class QueueReports {
  private readonly seen = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly observer: Pick<ServiceObserver, 'queueEntryMalformed'> = {},
  ) {}

  /** Reports an entry set apart, unless already reported as it is now; true when it was reported now. */
  report(e: SetApart, message = 'queue entry set apart: it is not one the service writes; left in place, the entries behind it go on'): boolean {
    const id = [e.queue, e.key, e.field, createHash('sha256').update(e.value ?? e.problem).digest('hex').slice(0, 16)].join('\u0000');
    if (this.seen.has(id)) return false;
    if (this.seen.size >= REMEMBERED) this.seen.clear();
    this.seen.add(id);
    const where: Record<string, string> = { queue: safe(e.queue), key: safe(e.key), problem: safe(e.problem) };
    if (e.field !== '') where.field = safe(e.field);
    this.log.error(message, where);
    this.observer.queueEntryMalformed?.(e.queue);
    return true;
  }
}
