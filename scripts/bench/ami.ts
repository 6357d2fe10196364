/**
 * A small AMI client for the benchmark: one TCP connection, actions matched to responses by
 * ActionID, event lists (e.g. CoreShowChannels) collected, and every event handed to a listener
 * with its `Timestamp` (manager.conf timestampevents=yes) parsed to epoch milliseconds.
 *
 * It is not the application's AMI adapter on purpose: the benchmark reads every event at high rate
 * and must not share code paths (or bugs) with what it measures. Header names keep their case.
 */
import { Socket, connect } from 'node:net';

export type AmiMessage = Record<string, string>;

export interface AmiOptions {
  host: string;
  port: number;
  user: string;
  secret: string;
  /** Event classes to receive at login (e.g. "call,dtmf,user"), or "off". */
  events: string;
  /** Bound on one action, ms. */
  timeoutMs?: number;
}

interface Pending {
  resolve(m: AmiMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  /** For an event list: the events collected so far and the event that ends the list. */
  list?: { items: AmiMessage[]; complete: string; response?: AmiMessage; resolveList(items: AmiMessage[]): void };
}

/** Asterisk's "1732831234.123456" → epoch ms (with the microseconds as a fraction). */
export function amiTimestampMs(v: string | undefined): number | null {
  if (!v) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n * 1000 : null;
}

export class BenchAmi {
  private sock: Socket | null = null;
  private buf = '';
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private listener: (e: AmiMessage) => void = () => undefined;
  private closed = false;
  /** Counts every event received (to report the benchmark's own load). */
  eventCount = 0;

  constructor(private readonly opts: AmiOptions) {}

  onEvent(fn: (e: AmiMessage) => void): void {
    this.listener = fn;
  }

  async connect(): Promise<void> {
    const sock = connect(this.opts.port, this.opts.host);
    this.sock = sock;
    sock.setNoDelay(true);
    sock.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      // The banner ("Asterisk Call Manager/x.y.z") ends with a single CRLF.
      const onBanner = (chunk: string) => {
        const i = chunk.indexOf('\r\n');
        if (i < 0) return;
        sock.off('data', onBanner);
        sock.off('error', reject);
        this.buf = chunk.slice(i + 2);
        resolve();
      };
      sock.on('data', onBanner);
    });
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('error', (e) => this.failAll(e));
    sock.on('close', () => this.failAll(new Error('AMI connection closed')));
    const res = await this.action('Login', { Username: this.opts.user, Secret: this.opts.secret, Events: this.opts.events });
    if (res.Response !== 'Success') throw new Error(`AMI login failed: ${res.Message ?? 'refused'}`);
  }

  private failAll(e: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      if (!this.closed) p.reject(e);
    }
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let i: number;
    while ((i = this.buf.indexOf('\r\n\r\n')) >= 0) {
      const raw = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 4);
      const msg: AmiMessage = {};
      for (const line of raw.split('\r\n')) {
        const c = line.indexOf(':');
        if (c <= 0) continue;
        msg[line.slice(0, c)] = line.slice(c + 1).trim();
      }
      this.dispatch(msg);
    }
  }

  private dispatch(msg: AmiMessage): void {
    const id = msg.ActionID;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (msg.Response !== undefined) {
      if (!p || id === undefined) return;
      if (p.list && msg.Response === 'Success') {
        p.list.response = msg;
        return; // the list's events follow
      }
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(msg);
      return;
    }
    if (msg.Event !== undefined) {
      if (p?.list && id !== undefined) {
        if (msg.Event === p.list.complete) {
          clearTimeout(p.timer);
          this.pending.delete(id);
          p.list.resolveList(p.list.items);
        } else {
          p.list.items.push(msg);
        }
        return;
      }
      this.eventCount++;
      this.listener(msg);
    }
  }

  private write(name: string, fields: Record<string, string>, id: string): void {
    const lines = [`Action: ${name}`, `ActionID: ${id}`];
    for (const [k, v] of Object.entries(fields)) {
      if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new Error(`AMI field ${k} holds a line break`);
      lines.push(`${k}: ${v}`);
    }
    if (!this.sock) throw new Error('AMI not connected');
    this.sock.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  /** Sends an action; resolves with its response (Success or Error alike). */
  action(name: string, fields: Record<string, string> = {}, id = `b${++this.seq}`): Promise<AmiMessage> {
    return new Promise((resolve, reject) => this.send(name, fields, id, { resolve, reject }));
  }

  /** Sends an action that answers with a list of events ending with `complete`. */
  actionList(name: string, complete: string, fields: Record<string, string> = {}): Promise<AmiMessage[]> {
    return new Promise((resolve, reject) =>
      this.send(name, fields, `b${++this.seq}`, {
        resolve: (m) => (m.Response === 'Success' ? resolve([]) : reject(new Error(`AMI ${name}: ${m.Message ?? m.Response}`))),
        reject,
        list: { items: [], complete, resolveList: resolve },
      }),
    );
  }

  /** Registers the answer's handlers under `id` with the action timeout, then writes the action. */
  private send(name: string, fields: Record<string, string>, id: string, entry: Omit<Pending, 'timer'>): void {
    const timer = setTimeout(() => {
      this.pending.delete(id);
      entry.reject(new Error(`AMI ${name} timed out`));
    }, this.opts.timeoutMs ?? 30000);
    this.pending.set(id, { ...entry, timer });
    try {
      this.write(name, fields, id);
    } catch (e) {
      clearTimeout(timer);
      this.pending.delete(id);
      entry.reject(e as Error);
    }
  }

  close(): void {
    this.closed = true;
    this.sock?.end();
    this.sock?.destroy();
    this.sock = null;
  }
}
