/**
 * The AMI client of the tests, the benchmark and the demo: the sandbox's test user (every privilege),
 * over the product's own AMI connection (so CR/LF in a value is refused here too). Event fields are
 * lower-case, as asterisk-manager gives them.
 */
import { AmiConnection } from '../../src/adapters/ami/ami-connection';
import { createLogger } from '../../src/observability/logger';
import { sandbox } from './sandbox';
import { Seen } from './wait';

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
  private readonly seen: Seen<AmiEvent>;
  private listeners: ((e: AmiEvent) => void)[] = [];

  /**
   * `actionTimeoutMs`: longer where hundreds of calls are placed; `keep: false`: remember no event (the
   * benchmark only listens); `eventMask`: only these event classes (e.g. "call,dtmf,user"), so that a
   * busy Asterisk does not drop events for a reader that cannot keep up with all of them; `filter`: an
   * AMI event filter (a regular expression) set at login, so that Asterisk sends only what matches.
   */
  constructor(private readonly opts: { actionTimeoutMs?: number; keep?: boolean; eventMask?: string; filter?: string } = {}) {
    this.seen = new Seen<AmiEvent>(opts.keep ?? true);
    this.conn = new AmiConnection({ ...sandbox().amiTest, actionTimeoutMs: opts.actionTimeoutMs ?? 10000, events: true, eventFilter: opts.filter }, quiet);
    this.conn.on('event', (e: AmiEvent) => {
      for (const l of this.listeners) l(e);
      this.seen.add(e);
    });
  }

  /** Every event received so far. */
  get events(): AmiEvent[] {
    return this.seen.items;
  }

  async start(): Promise<this> {
    await this.conn.start();
    if (this.opts.eventMask) await this.conn.action('Events', { EventMask: this.opts.eventMask });
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
    return this.seen.waitFor(match, ms, what);
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
