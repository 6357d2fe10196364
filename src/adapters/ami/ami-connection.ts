/**
 * A supervised AMI connection over asterisk-manager 0.2.0. The library is wrapped because it
 * does no CR/LF escaping, has no action timeout, reuses time-based ActionIDs and swallows login
 * errors. Here every value is validated, every action has its own id and a timeout, and the
 * connection is re-established for ever with a capped backoff.
 */
import AsteriskManager from 'asterisk-manager';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../../observability/logger';

export interface AmiSettings {
  host: string;
  port: number;
  user: string;
  secret: string;
  actionTimeoutMs: number;
  /** Whether this connection receives events (the app does not need them). */
  events?: boolean;
  /**
   * With events: the only events wanted, as an AMI filter (a regular expression Asterisk matches
   * against each event's text). Set on every login with the Filter action: Asterisk then sends
   * nothing else, which spares this process reading and parsing every other event of the PBX.
   */
  eventFilter?: string;
}

export class AmiError extends Error {
  constructor(
    message: string,
    readonly response?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AmiError';
  }
}

export type AmiState = 'connecting' | 'up' | 'down' | 'closed';

/** Field names: letters, digits and '-' only. */
const FIELD = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Rejects any value that could add headers or actions to the AMI stream. */
export function assertSafeAmiValue(key: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new AmiError(`AMI field ${key} contains a line break or NUL`);
  if (value.length > 1024) throw new AmiError(`AMI field ${key} is longer than 1024 characters`);
}

interface RawManager {
  eventNames?(): (string | symbol)[];
  listenerCount?(event: string | symbol): number;
  connect(port: number, host: string, cb: (err: Error | null) => void): void;
  login(cb: (err: unknown) => void): void;
  action(action: Record<string, string>, cb: (err: unknown, res: Record<string, unknown>) => void): string;
  disconnect(cb?: () => void): void;
  on(event: string, fn: (...args: unknown[]) => void): void;
  removeListener(event: string, fn: (...args: unknown[]) => void): void;
  removeAllListeners(event?: string): void;
}

const MAX_BACKOFF_MS = 5000;

export class AmiConnection extends EventEmitter {
  private manager: RawManager | null = null;

  /** Listeners on this connection and on asterisk-manager's (a soak checks that they do not grow). */
  emitterListeners(): number {
    const count = (e: Pick<EventEmitter, 'eventNames' | 'listenerCount'>) => e.eventNames().reduce((n, k) => n + e.listenerCount(k), 0);
    const m = this.manager;
    return count(this) + (m?.eventNames && m.listenerCount ? count(m as Pick<EventEmitter, 'eventNames' | 'listenerCount'>) : 0);
  }
  private stateValue: AmiState = 'connecting';
  private backoffMs = 200;
  private retry: NodeJS.Timeout | null = null;
  private firstError: string | null = null;

  constructor(
    private readonly settings: AmiSettings,
    private readonly log: Logger,
  ) {
    super();
  }

  get state(): AmiState {
    return this.stateValue;
  }

  /** Connects and logs in; resolves on the first successful login, rejects on bad credentials. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onUp = () => {
        this.off('login-failed', onFail);
        resolve();
      };
      const onFail = (msg: string) => {
        this.off('up', onUp);
        this.close();
        reject(new AmiError(msg));
      };
      this.once('up', onUp);
      this.once('login-failed', onFail);
      this.open();
    });
  }

  private setState(s: AmiState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
    if (s === 'up') this.emit('up');
  }

  private open(): void {
    if (this.stateValue === 'closed') return;
    const { host, port, user, secret, events } = this.settings;
    // Constructed without a port so that it does not connect or log in on its own.
    const m = new (AsteriskManager as unknown as new (...a: unknown[]) => RawManager)(undefined, host, user, secret, events ?? false);
    this.manager = m;
    const connectTimer = setTimeout(() => {
      this.log.warn('AMI connect timed out', { host, port });
      m.disconnect();
      this.scheduleReconnect(m);
    }, this.settings.actionTimeoutMs);
    m.on('close', () => {
      clearTimeout(connectTimer);
      this.scheduleReconnect(m);
    });
    m.on('error', (e) => {
      const msg = (e as Error)?.message ?? String(e);
      if (this.firstError !== msg) this.log.warn('AMI connection error', { error: msg });
      this.firstError = msg;
    });
    m.on('managerevent', (ev) => this.emit('event', ev));
    m.connect(port, host, (err) => {
      if (err) return;
      m.login((loginErr) => {
        clearTimeout(connectTimer);
        if (loginErr) {
          const message = String((loginErr as Record<string, unknown>)?.message ?? 'login refused');
          this.log.error('AMI login failed: check ami.user and the AMI secret', { user: user, reason: message });
          this.emit('login-failed', `AMI login as ${user} failed: ${message}`);
          return;
        }
        this.backoffMs = 200;
        this.firstError = null;
        this.log.info('AMI connected', { host, port });
        this.filterEvents(m, () => this.setState('up'));
      });
    });
  }

  /**
   * Asks Asterisk for the wanted events only, before the connection is said up; a refusal (a user
   * without the `system` write permission) or no answer in time costs only CPU: it goes on unfiltered.
   */
  private filterEvents(m: RawManager, then: () => void): void {
    const filter = this.settings.events ? this.settings.eventFilter : undefined;
    if (filter === undefined) return then();
    let done = false;
    const finish = (error: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error !== null) this.log.warn('AMI event filter not set; every event this user may read will be received', { error });
      if (m === this.manager) then();
    };
    const timer = setTimeout(() => finish(`no answer within ${this.settings.actionTimeoutMs} ms`), this.settings.actionTimeoutMs);
    try {
      assertSafeAmiValue('Filter', filter);
      m.action({ action: 'Filter', operation: 'Add', filter, actionid: `civr-${randomUUID()}` }, (err) =>
        finish(err ? String((err as Record<string, unknown>).message ?? 'refused') : null),
      );
    } catch (e) {
      finish((e as Error).message);
    }
  }

  private scheduleReconnect(m: RawManager): void {
    if (m !== this.manager || this.stateValue === 'closed' || this.retry) return;
    if (this.stateValue === 'up') this.log.warn('AMI connection lost; reconnecting');
    this.setState('down');
    m.removeAllListeners('close');
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.open();
    }, delay);
  }

  /**
   * Sends one action and resolves with its response. Rejects on an error response, on a value
   * that could inject AMI headers, when not connected, or after the action timeout.
   */
  action(name: string, fields: Record<string, string>, onId?: (actionId: string) => void): Promise<Record<string, unknown>> {
    const m = this.manager;
    if (!m || this.stateValue !== 'up') return Promise.reject(new AmiError(`AMI is not connected (${this.stateValue})`));
    const req: Record<string, string> = { action: name };
    try {
      assertSafeAmiValue('Action', name);
      for (const [k, v] of Object.entries(fields)) {
        if (!FIELD.test(k)) throw new AmiError(`AMI field name ${k} is not allowed`);
        assertSafeAmiValue(k, v);
        req[k.toLowerCase()] = v;
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const id = `civr-${randomUUID()}`;
    req.actionid = id;
    onId?.(id);
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        m.removeAllListeners(id);
        reject(new AmiError(`AMI ${name} timed out after ${this.settings.actionTimeoutMs} ms`));
      }, this.settings.actionTimeoutMs);
      m.action(req, (err, res) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) {
          const r = err as Record<string, unknown>;
          reject(new AmiError(`AMI ${name} failed: ${String(r.message ?? 'error')}`, r));
        } else resolve(res ?? {});
      });
    });
  }

  /**
   * Sends an action whose answer is a list (DBGetTree, ...): resolves with the list's events once
   * Asterisk says it is complete, bounded by the same timeout as one action.
   */
  async list(name: string, fields: Record<string, string>): Promise<Record<string, string>[]> {
    const m = this.manager;
    const items: Record<string, string>[] = [];
    let id: string | null = null;
    let complete!: () => void;
    const done = new Promise<void>((r) => (complete = r));
    const onEvent = (ev: Record<string, string>) => {
      if (id === null || ev.actionid !== id) return;
      if (String(ev.eventlist ?? '').toLowerCase() === 'complete') complete();
      else items.push(ev);
    };
    m?.on('managerevent', onEvent as (...a: unknown[]) => void);
    try {
      const res = await this.action(name, fields, (actionId) => (id = actionId));
      if (String(res.eventlist ?? '').toLowerCase() !== 'start') return items; // nothing follows (e.g. an empty family)
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AmiError(`AMI ${name} list not complete after ${this.settings.actionTimeoutMs} ms`)), this.settings.actionTimeoutMs);
      });
      await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
      return items;
    } finally {
      m?.removeListener('managerevent', onEvent as (...a: unknown[]) => void);
    }
  }

  close(): void {
    this.setState('closed');
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const m = this.manager;
    this.manager = null;
    if (m) {
      m.removeAllListeners('close');
      m.disconnect();
    }
  }
}
