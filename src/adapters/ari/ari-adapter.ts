/**
 * Calls in Stasis over ari-client 2.2.0, as patched at install (client-patches.ts). Only
 * client-level listeners are used (per-instance listeners of ari-client are never pruned), events
 * are routed by channel id, every REST request is bounded by a timeout, and the connection is
 * supervised: a heartbeat (ari-client's ping and pong) notices a silent websocket, and when
 * ari-client gives up reconnecting a new client is made, for ever, with a capped backoff.
 */
import ari from 'ari-client';
import { EventEmitter } from 'node:events';
import type { Language } from '../../domain/vocabulary';
import type { Logger } from '../../observability/logger';
import type { CallControl, CallEvent, CallSource, DialplanTarget, IncomingCall } from '../../ports/call-control';
import type { LiveChannels } from '../../ports/midcall';
import { requirePatched } from './client-patches';
import { callEvents } from './events';
import { describeFrame } from './frames';
import { AriRequestError, withTimeout } from './request';
import { AriRest } from './rest';

export { dialledNumber, INBOUND_ROUTINE, OUTBOUND_ROUTINE, routineArguments } from './events';
export { AriRequestError } from './request';
export { MAX_SOCKETS } from './rest';

type AriClient = ari.Client;

export interface AriSettings {
  url: string;
  user: string;
  password: string;
  app: string;
  requestTimeoutMs: number;
  /** How often the websocket is pinged (5 s unless given); three periods without a pong and it is replaced. */
  heartbeatMs?: number;
}

export type AriState = 'connecting' | 'up' | 'down' | 'closed';

const MAX_BACKOFF_MS = 5000;
const HEARTBEAT_MS = 5000;
/** ari-client's event for a frame it could not handle (patches/ari-client+2.2.0.patch). */
const FRAME_ERROR = 'WebSocketMessageError';

export class AriAdapter extends EventEmitter implements CallControl, CallSource, LiveChannels {
  private client: AriClient | null = null;
  private stateValue: AriState = 'connecting';
  private backoffMs = 200;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private lastPong = 0;
  private readonly http: AriRest;
  /** The ARI events the service acts on, by type (see callEvents). */
  private readonly callEvents: ReturnType<typeof callEvents>;
  private readonly heartbeatMs: number;

  constructor(
    private readonly settings: AriSettings,
    private readonly log: Logger,
  ) {
    super();
    requirePatched(ari);
    this.heartbeatMs = settings.heartbeatMs ?? HEARTBEAT_MS;
    this.http = new AriRest(settings);
    this.callEvents = callEvents(this, log);
  }

  /** Listeners on this adapter and on ari-client's client (a soak checks that they do not grow). */
  emitterListeners(): number {
    return listenerTotal(this) + (this.client ? listenerTotal(this.client as unknown as EventEmitter) : 0);
  }

  get state(): AriState {
    return this.stateValue;
  }

  onCall(handler: (call: IncomingCall) => void): void {
    this.on('call', handler);
  }

  onEvent(handler: (event: CallEvent) => void): void {
    this.on('call-event', handler);
  }

  private setState(s: AriState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  /**
   * Connects and subscribes the Stasis application. Rejects at once on bad credentials (401);
   * when Asterisk is unreachable it keeps trying in the background and resolves once connected.
   */
  async start(): Promise<void> {
    for (;;) {
      if (this.stateValue === 'closed') return;
      try {
        await this.connectOnce();
        return;
      } catch (e) {
        const err = e as Error & { name?: string };
        // ari-client's refusal reads `401 : Unauthorized http://…/ari/api-docs/resources.json`.
        if (/\b401 : |Unauthorized/i.test(err.message)) {
          throw new AriRequestError(`ARI refused the credentials of user ${this.settings.user} (check ari.user and the ARI password)`, 401);
        }
        this.log.warn('ARI not reachable; retrying', { url: this.settings.url, error: err.message, retryInMs: this.backoffMs });
        await new Promise((r) => {
          this.retry = setTimeout(r, this.backoffMs);
        });
        this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async connectOnce(): Promise<void> {
    const { url, user, password, app } = this.settings;
    // A refused password or an Asterisk that cannot be reached rejects (with the reason in the message).
    const client = await withTimeout(ari.connect(url, user, password), this.settings.requestTimeoutMs * 3, 'ARI connect');
    this.client = client;
    const events = client as unknown as { on(type: string, handler: (...args: never[]) => unknown): void };
    for (const [type, handler] of Object.entries(this.callEvents)) events.on(type, handler);
    // A frame ari-client cannot handle (unparsable, an unknown event type, an object it cannot make)
    // is reported and dropped; the frames after it are handled as usual.
    events.on(FRAME_ERROR, (e: unknown, frame: unknown) => this.log.warn('ARI frame dropped: ari-client could not handle it', describeFrame(e, frame)));
    client.on('WebSocketReconnecting', () => {
      if (this.stateValue === 'up') this.log.warn('ARI websocket lost; reconnecting');
      this.setState('down');
    });
    client.on('WebSocketConnected', () => {
      if (this.stateValue === 'down') {
        this.log.info('ARI websocket reconnected');
        this.setState('up');
        void this.filterEvents().then(() => this.emit('connected'));
      }
    });
    client.on('WebSocketMaxRetries', () => {
      this.log.warn('ARI client gave up reconnecting; making a new connection');
      this.replaceClient();
    });
    client.on('pong', () => {
      this.lastPong = Date.now();
    });
    await withTimeout(client.start(app), this.settings.requestTimeoutMs * 3, 'ARI websocket');
    this.backoffMs = 200;
    this.lastPong = Date.now();
    this.setState('up');
    this.log.info('ARI connected', { url, app });
    await this.filterEvents();
    // Every connection, the first included: channels may wait in Stasis from a previous run.
    this.emit('connected');
    this.startHeartbeat();
  }

  /**
   * Pings the websocket (ari-client's ping; it emits Asterisk's answers as 'pong'); a silent socket
   * is replaced, since ari-client does not notice it.
   */
  private startHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const c = this.client;
      if (!c || this.stateValue !== 'up') return;
      if (Date.now() - this.lastPong > this.heartbeatMs * 3) {
        this.log.warn('ARI websocket silent; reconnecting');
        this.replaceClient();
        return;
      }
      try {
        // Throws when the socket is no longer open.
        c.ping();
      } catch {
        this.replaceClient();
      }
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private replaceClient(): void {
    const old = this.client;
    this.client = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (old) {
      closeSocket(old, this.log);
    }
    if (this.stateValue === 'closed') return;
    this.setState('down');
    void this.start().catch((e: Error) => this.log.error('ARI reconnect failed', { error: e.message }));
  }

  /**
   * Asks Asterisk to send this application only the events it acts on. A failure costs only CPU
   * (every event still arrives), so it is logged and the connection goes on.
   */
  private async filterEvents(): Promise<void> {
    const allowed = Object.keys(this.callEvents).map((type) => ({ type }));
    try {
      await this.rest('PUT', `/applications/${encodeURIComponent(this.settings.app)}/eventFilter`, {}, 'event filter', { allowed });
    } catch (e) {
      this.log.warn('ARI event filter not set; every event type will be received', { error: (e as Error).message });
    }
  }

  private requireClient(): AriClient {
    if (!this.client || this.stateValue !== 'up') throw new AriRequestError(`ARI is not connected (${this.stateValue})`);
    return this.client;
  }

  private request<T>(what: string, fn: (c: AriClient) => Promise<T>): Promise<T> {
    let c: AriClient;
    try {
      c = this.requireClient();
    } catch (e) {
      return Promise.reject(e);
    }
    return withTimeout(fn(c), this.settings.requestTimeoutMs, `ARI ${what}`);
  }

  /*
   * The per-call requests go over plain HTTP on a bounded keep-alive pool: ari-client's Swagger
   * layer costs about 1.5 ms of CPU per request, which adds up to seconds of event-loop lag in a
   * burst of calls. ari-client is kept for the events websocket and the rare requests.
   */

  async answer(channelId: string): Promise<void> {
    await this.rest('POST', `/channels/${encodeURIComponent(channelId)}/answer`, {}, 'answer');
  }

  async play(channelId: string, playbackId: string, sound: string, lang: Language): Promise<void> {
    await this.rest('POST', `/channels/${encodeURIComponent(channelId)}/play/${encodeURIComponent(playbackId)}`, { media: `sound:${sound}`, lang }, 'play');
  }

  async stopPlayback(playbackId: string): Promise<void> {
    await this.rest('DELETE', `/playbacks/${encodeURIComponent(playbackId)}`, {}, 'stop playback');
  }

  async continueInDialplan(channelId: string, target?: DialplanTarget): Promise<void> {
    const q: Record<string, string> = target ? { context: target.context, extension: target.extension, priority: String(target.priority) } : {};
    await this.rest('POST', `/channels/${encodeURIComponent(channelId)}/continue`, q, 'continue');
  }

  /** Any channel's name by its id (UNIQUEID), in Stasis or not; null when it is gone. */
  async nameOf(channelId: string): Promise<string | null> {
    try {
      const body = await this.rest('GET', `/channels/${encodeURIComponent(channelId)}`, {}, 'get channel');
      return (JSON.parse(body) as { name?: string }).name ?? null;
    } catch (e) {
      if ((e as AriRequestError).status === 404) return null;
      throw e;
    }
  }

  /** Ids of every channel Asterisk has now, in Stasis or not (one request). */
  async liveChannelIds(): Promise<Set<string>> {
    const body = await this.rest('GET', '/channels', {}, 'list channels');
    return new Set((JSON.parse(body) as { id?: string }[]).map((c) => String(c.id)));
  }

  async getVariable(channelId: string, name: string): Promise<string | null> {
    try {
      const body = await this.rest('GET', `/channels/${encodeURIComponent(channelId)}/variable`, { variable: name }, 'get variable');
      return (JSON.parse(body) as { value?: string }).value || null;
    } catch (e) {
      if ((e as AriRequestError).status === 404) return null;
      throw e;
    }
  }

  async linkedIdOf(channel: string): Promise<string | null> {
    // By id or by name: Asterisk looks the channel up either way (ast_channel_get_by_name).
    return this.getVariable(channel, 'CHANNEL(linkedid)');
  }

  private rest(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, query: Record<string, string>, what: string, json?: unknown): Promise<string> {
    if (this.stateValue !== 'up') return Promise.reject(new AriRequestError(`ARI is not connected (${this.stateValue})`));
    return this.http.request(method, path, query, what, json);
  }

  /** Channels currently in this application's Stasis, for reconciliation after a reconnect. */
  async ownedChannels(): Promise<string[]> {
    const app = await this.request('get application', (c) => c.applications.get({ applicationName: this.settings.app }));
    return (app as unknown as { channel_ids?: string[] }).channel_ids ?? [];
  }

  close(): void {
    this.http.close();
    this.setState('closed');
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const c = this.client;
    this.client = null;
    if (c) {
      closeSocket(c, this.log);
    }
  }
}

/** Drops every listener of an old client and closes its websocket. */
function closeSocket(c: AriClient, log: Logger): void {
  const old = c as unknown as EventEmitter;
  old.removeAllListeners();
  // A frame still arriving on the closing socket is dropped: with no listener, ari-client would throw it.
  old.on(FRAME_ERROR, () => undefined);
  try {
    (c as unknown as { stop(): void }).stop();
  } catch (e) {
    log.debug('closing an ARI websocket failed', { error: (e as Error).message });
  }
}

function listenerTotal(e: EventEmitter): number {
  return e.eventNames().reduce((n, k) => n + e.listenerCount(k), 0);
}
