/**
 * The AMI client of the tests, the benchmark and the demo: the sandbox's test user (every privilege),
 * over the product's own AMI connection (so CR/LF in a value is refused here too). Event fields are
 * lower-case, as asterisk-manager gives them.
 */
import { AmiConnection } from '../../src/adapters/ami/ami-connection';
import { createLogger } from '../../src/logging/logger';
import { sandbox } from './sandbox';

export type AmiEvent = Record<string, string>;

const quiet = createLogger({ level: 'error', format: 'json' });

/** Asterisk's "1732831234.123456" (manager.conf timestampevents=yes) → epoch ms. */
export function amiTimestampMs(v: string | undefined): number | null {
  if (!v) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n * 1000 : null;
}

export class TestAmi {
  readonly conn: AmiConnection;
  /** Every event received, when `keep` (the default); the benchmark only listens. */
  readonly events: AmiEvent[] = [];
  private waiters: { match: (e: AmiEvent) => boolean; resolve: (e: AmiEvent) => void }[] = [];
  private listeners: ((e: AmiEvent) => void)[] = [];

  /** `actionTimeoutMs`: longer where hundreds of calls are placed (Asterisk then answers behind its events). */
  constructor(opts: { actionTimeoutMs?: number; keep?: boolean } = {}) {
    const s = sandbox().amiTest;
    const keep = opts.keep ?? true;
    this.conn = new AmiConnection({ ...s, actionTimeoutMs: opts.actionTimeoutMs ?? 10000, events: true }, quiet);
    this.conn.on('event', (e: AmiEvent) => {
      if (keep) this.events.push(e);
      for (const l of this.listeners) l(e);
      if (this.waiters.length === 0) return;
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    });
  }

  async start(): Promise<this> {
    await this.conn.start();
    return this;
  }

  onEvent(fn: (e: AmiEvent) => void): void {
    this.listeners.push(fn);
  }

  action(name: string, fields: Record<string, string> = {}, onId?: (id: string) => void): Promise<Record<string, unknown>> {
    return this.conn.action(name, fields, onId);
  }

  /** Resolves with the first event (already seen or coming) that matches, or rejects after `ms`. */
  waitFor(match: (e: AmiEvent) => boolean, ms: number, what: string): Promise<AmiEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const done = (e: AmiEvent) => {
        clearTimeout(t);
        res(e);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        rej(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      t.unref();
      this.waiters.push({ match, resolve: done });
    });
  }

  /** The user event `name` with field testid = `testId`. */
  userEvent(name: string, testId: string, ms: number): Promise<AmiEvent> {
    const p = this.waitFor((e) => e.event === 'UserEvent' && e.userevent === name && e.testid === testId, ms, `${name} of call ${testId}`);
    p.catch(() => undefined); // a test may not await every one of them
    return p;
  }

  /** Names of the channels in Asterisk (CoreShowChannels). */
  async channels(): Promise<string[]> {
    return (await this.conn.list('CoreShowChannels', {})).map((e) => e.channel ?? '').filter(Boolean);
  }

  close(): void {
    this.conn.close();
  }
}
