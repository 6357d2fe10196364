/** Appenders per log (erase, purge, legal holds): an event about a record is logged in the log that holds it. */
import { ChainAppender, type AdminContext, type AdminStore } from '../ledger';

/**
 * Appenders per log, made on first use: an erasure is logged in the log that holds the record (the
 * record and its entry are written together).
 */
export class LogWriters {
  private readonly map = new Map<string, { store: AdminStore; appender: ChainAppender }>();
  constructor(private readonly ctx: AdminContext) {}
  of(log: string): { store: AdminStore; appender: ChainAppender } {
    let w = this.map.get(log);
    if (!w) {
      const store = this.ctx.store.forLog(log);
      w = { store, appender: new ChainAppender(store) };
      this.map.set(log, w);
    }
    return w;
  }
}
