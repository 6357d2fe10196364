/**
 * Calls in Stasis over ari-client 2.2.0. Only client-level listeners are used (per-instance
 * listeners of ari-client are never pruned), events are routed by channel id, every REST request is
 * bounded by a timeout, and the connection is supervised: when ari-client gives up reconnecting, a
 * new client is made, for ever, with a capped backoff.
 */
import ari from 'ari-client';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Language } from '../../domain/vocabulary';
import type { Logger } from '../../observability/logger';
import type { CallControl, CallEvent, CallSource, DialplanTarget, IncomingCall } from '../../ports/call-control';
import type { LiveChannels } from '../../ports/midcall';

export interface AriSettings {
  url: string;
  user: string;
  password: string;
  app: string;
  requestTimeoutMs: number;
}

export class AriRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AriRequestError';
  }
}

export type AriState = 'connecting' | 'up' | 'down' | 'closed';

const MAX_BACKOFF_MS = 5000;
const HEARTBEAT_MS = 5000;
/**
 * Connections to Asterisk's HTTP server for the per-call requests. Bounded well below http.conf's
 * sessionlimit: without a bound, a burst of calls opens a connection per request in flight and
 * Asterisk refuses those past the limit.
 */
export const MAX_SOCKETS = 128;

type AnyClient = ari.Client & { _ws?: { ping(): void } };

interface RawChannel {
  id: string;
  name: string;
  state: string;
  caller?: { number?: string };
  dialplan?: { context?: string; exten?: string };
  linkedid?: string;
}

export class AriAdapter extends EventEmitter implements CallControl, CallSource, LiveChannels {
  private client: AnyClient | null = null;
  private stateValue: AriState = 'connecting';
  private backoffMs = 200;
  private heartbeat: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private lastPong = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });

  /** Host, port, path prefix and Basic authorization header of the REST requests, parsed once. */
  private readonly restBase: { host: string; port: string; path: string; authorization: string };

  constructor(
    private readonly settings: AriSettings,
    private readonly log: Logger,
  ) {
    super();
    const u = new URL(`${settings.url.replace(/\/+$/, '')}/ari`);
    this.restBase = {
      host: u.hostname.replace(/^\[(.*)\]$/, '$1'), // IPv6 literal without brackets
      port: u.port || '80',
      path: u.pathname,
      authorization: `Basic ${Buffer.from(`${settings.user}:${settings.password}`).toString('base64')}`,
    };
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
        if (/401|Unauthorized/i.test(err.message)) {
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
    // ari-client's Swagger loader throws its failures from a callback (an uncaught exception): ask
    // first with a plain request, so a bad password or a missing Asterisk is an ordinary error.
    await probe(url, user, password, this.settings.requestTimeoutMs);
    const client = (await withSwaggerFailuresCaught(() =>
      withTimeout(ari.connect(url, user, password), this.settings.requestTimeoutMs * 3, 'ARI connect'),
    )) as AnyClient;
    this.client = client;
    // Before start(): every websocket it opens (one per reconnect) gets its frame handling guarded.
    guardFrames(client, (dropped) => this.log.warn('ARI frame dropped: ari-client could not handle it', dropped));
    const events = client as unknown as { on(type: string, handler: (...args: never[]) => unknown): void };
    for (const [type, handler] of Object.entries(this.callEvents)) events.on(type, handler);
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

  /** Pings the websocket; a silent socket is replaced, since ari-client does not notice it. */
  private startHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const c = this.client;
      if (!c || this.stateValue !== 'up') return;
      if (Date.now() - this.lastPong > HEARTBEAT_MS * 3) {
        this.log.warn('ARI websocket silent; reconnecting');
        this.replaceClient();
        return;
      }
      try {
        c._ws?.ping();
      } catch {
        this.replaceClient();
      }
    }, HEARTBEAT_MS);
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
   * The ARI events the service acts on, by type. Only these are asked of Asterisk (see
   * filterEvents): the others (ChannelVarset, ChannelStateChange, PlaybackStarted, ...) would be
   * sent, parsed and dropped for every call.
   */
  private readonly callEvents = {
    StasisStart: (event: { args?: unknown }, channel: RawChannel | undefined) => this.onStasisStart(event, channel),
    ChannelDtmfReceived: (event: { digit: string }, channel: RawChannel | undefined) => {
      if (channel?.id) this.emit('call-event', { type: 'digit', channelId: channel.id, digit: String(event.digit) });
    },
    PlaybackFinished: (_event: unknown, playback: { id: string; state: string } | undefined) => {
      if (playback?.id) this.emit('call-event', { type: 'playback-finished', playbackId: playback.id, ok: playback.state !== 'failed' });
    },
    ChannelHangupRequest: (_event: unknown, channel: RawChannel | undefined) => {
      if (channel?.id) this.emit('call-event', { type: 'hangup', channelId: channel.id });
    },
    ChannelDestroyed: (_event: unknown, channel: RawChannel | undefined) => {
      if (channel?.id) this.emit('call-event', { type: 'hangup', channelId: channel.id });
    },
    StasisEnd: (_event: unknown, channel: RawChannel | undefined) => {
      if (channel?.id) this.emit('call-event', { type: 'left-stasis', channelId: channel.id });
    },
  } satisfies Record<string, (event: never, object: never) => unknown>;

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

  private onStasisStart(event: { args?: unknown }, channel: RawChannel | undefined): void {
    // A StasisStart must name its channel: without one there is no call to run (and nothing to hang up).
    if (!channel || typeof channel.id !== 'string' || typeof channel.name !== 'string') {
      this.log.warn('ARI StasisStart without a channel; ignored');
      return;
    }
    const args = Array.isArray(event.args) ? event.args.map((a) => String(a)) : [];
    const routine = routineArguments(args, channel);
    if (routine.extra > 0) this.log.warn('Stasis arguments beyond what the routine passes; ignored (a dialled number with commas?)', { call: channel.id, extra: routine.extra });
    const call: IncomingCall = {
      channelId: channel.id,
      channelName: channel.name,
      answered: channel.state === 'Up',
      direction: routine.direction,
      subjectNumber: routine.subjectNumber,
      calledNumber: routine.calledNumber,
      agentChannel: routine.agentChannel,
      linkedId: channel.linkedid ?? channel.id,
      args,
    };
    this.emit('call', call);
  }

  private requireClient(): AnyClient {
    if (!this.client || this.stateValue !== 'up') throw new AriRequestError(`ARI is not connected (${this.stateValue})`);
    return this.client;
  }

  private request<T>(what: string, fn: (c: AnyClient) => Promise<T>): Promise<T> {
    let c: AnyClient;
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

  private rest(method: string, path: string, query: Record<string, string>, what: string, json?: unknown): Promise<string> {
    if (this.stateValue !== 'up') return Promise.reject(new AriRequestError(`ARI is not connected (${this.stateValue})`));
    const { requestTimeoutMs } = this.settings;
    const qs = new URLSearchParams(query).toString();
    const base = this.restBase;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: base.host,
          port: base.port,
          path: `${base.path}${path}${qs ? `?${qs}` : ''}`,
          method,
          agent: this.agent,
          headers: json === undefined ? { Authorization: base.authorization } : { Authorization: base.authorization, 'Content-Type': 'application/json' },
          timeout: requestTimeoutMs,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(body);
            let message = body;
            try {
              message = (JSON.parse(body) as { message?: string }).message ?? body;
            } catch {
              // not JSON: keep the text
            }
            reject(new AriRequestError(`ARI ${what} failed: ${status} ${message.slice(0, 200)}`, status));
          });
        },
      );
      req.on('timeout', () => req.destroy(new AriRequestError(`ARI ${what} timed out after ${requestTimeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof AriRequestError ? e : new AriRequestError(`ARI ${what} failed: ${e.message}`)));
      req.end(json === undefined ? undefined : JSON.stringify(json));
    });
  }

  /** Channels currently in this application's Stasis, for reconciliation after a reconnect. */
  async ownedChannels(): Promise<string[]> {
    const app = await this.request('get application', (c) => c.applications.get({ applicationName: this.settings.app }));
    return (app as unknown as { channel_ids?: string[] }).channel_ids ?? [];
  }

  close(): void {
    this.agent.destroy();
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

/** The contexts of the routines (dialplans/consent-ivr.conf) that enter Stasis. */
export const INBOUND_ROUTINE = 'consent-ivr';
export const OUTBOUND_ROUTINE = 'consent-ivr-outbound';
/** Channel names as Asterisk makes them (PJSIP/trunk-0000002a, Local/s@ctx-00000001;2). */
const CHANNEL_NAME = /^[A-Za-z0-9_./@;:+-]{1,256}$/;
/** What is kept of the dialled number (what the inbound routine's FILTER() lets through). */
const NOT_IN_NUMBER = /[^-0-9A-Za-z+*#._]/g;
const MAX_NUMBER = 64;

/**
 * What the dialplan routines pass to Stasis():
 * - inbound (consent-ivr): the extension the caller dialled, cut at its first comma and filtered;
 * - outbound (consent-ivr-outbound, run by Dial's U() on the called channel): the dialled resource
 *   (DIALEDPEERNUMBER, e.g. "trunk/0612345678" or "0612345678@trunk"), "outbound", and the calling
 *   channel's name.
 * Stasis() splits its data on commas after the dialplan expanded it, and a SIP user part may hold
 * commas: a caller who dials "0522…,outbound,<channel>" on a dialplan that does not filter adds
 * arguments. So a call is outbound only when it entered Stasis from the outbound routine's context
 * (which the caller does not choose) with exactly its three arguments; anything else is inbound, its
 * called number the first argument only, and `extra` counts the arguments the routine does not pass.
 * On an outbound call the person asked is the one dialled: their number is the subject.
 */
export function routineArguments(
  args: string[],
  channel: Pick<RawChannel, 'caller' | 'dialplan'>,
): Pick<IncomingCall, 'direction' | 'subjectNumber' | 'calledNumber' | 'agentChannel'> & { extra: number } {
  if (channel.dialplan?.context === OUTBOUND_ROUTINE && args.length === 3 && args[1] === 'outbound') {
    const agent = args[2] as string;
    return { direction: 'outbound', subjectNumber: dialledNumber(args[0] ?? ''), calledNumber: '', agentChannel: CHANNEL_NAME.test(agent) ? agent : null, extra: 0 };
  }
  return {
    direction: 'inbound',
    subjectNumber: channel.caller?.number ?? '',
    // The routine passes the number the caller dialled (its own extension is just "s").
    calledNumber: ((args[0] ?? channel.dialplan?.exten ?? '').split(',')[0] ?? '').replace(NOT_IN_NUMBER, '').slice(0, MAX_NUMBER),
    agentChannel: null,
    extra: Math.max(0, args.length - 1),
  };
}

/** The number in a dial resource: "trunk/0612", "0612@trunk", "sip:+212612@host" → "0612" / "+212612". */
export function dialledNumber(resource: string): string {
  const user = resource.split('@')[0] ?? '';
  const last = user.split('/').pop() ?? '';
  return last.replace(/^(sip|sips|tel):/i, '');
}

/** GET /ari/api-docs/resources.json: resolves when ARI answers 200 to these credentials. */
async function probe(url: string, user: string, password: string, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, '')}/ari/api-docs/resources.json`, {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new AriRequestError(`ARI at ${url} cannot be reached (${cause})`);
  }
  await res.arrayBuffer();
  if (res.status === 401) throw new AriRequestError('401 Unauthorized', 401);
  if (res.status !== 200) throw new AriRequestError(`ARI at ${url} answered ${res.status}`, res.status);
}

/**
 * While ari-client connects: its Swagger 1.1 loader prints a deprecation notice with console.log
 * (which would break the JSON log stream) and throws its load failures from a callback. Drop the
 * notice, and turn those throws (strings such as "401 : … /ari/api-docs/…") into nothing: the
 * connect promise already rejects for them.
 */
async function withSwaggerFailuresCaught<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]) => {
    if (JSON.stringify(args).includes('deprecated version of Swagger')) return;
    original(...args);
  };
  const swallow = (e: unknown) => {
    if (isSwaggerLoadFailure(e)) return;
    process.removeListener('uncaughtException', swallow);
    // Another listener (the command's crash handler) deals with it; alone, crash as Node would.
    if (process.listenerCount('uncaughtException') === 0) throw e;
  };
  swaggerLoads += 1;
  process.on('uncaughtException', swallow);
  try {
    return await fn();
  } finally {
    console.log = original;
    // Late throws of this connect attempt arrive within the same tick range; leave a short window.
    setTimeout(() => {
      swaggerLoads -= 1;
      process.removeListener('uncaughtException', swallow);
    }, 1000).unref();
  }
}

/** Connect attempts whose Swagger loader may still throw its failures (see withSwaggerFailuresCaught). */
let swaggerLoads = 0;

/**
 * Whether an uncaught exception is one of ari-client's Swagger load failures ("401 : … /ari/api-docs/…"),
 * thrown while a connect attempt is under way: the connect promise rejects for it already, so a crash
 * handler must let it pass.
 */
export function isSwaggerLoadFailure(e: unknown): boolean {
  return swaggerLoads > 0 && typeof e === 'string' && /api-docs/.test(e);
}

/** What is logged of a frame that ari-client could not handle: never its text (it holds caller IDs). */
export interface DroppedFrame {
  /** The error's class (SyntaxError, TypeError, ...), not its message, which may quote the frame. */
  error: string;
  bytes: number;
  /** The frame's event type, when it has one made of letters only. */
  type?: string;
}

type Listener = (...args: unknown[]) => unknown;

/**
 * ari-client's websocket 'message' listener (processMessage in lib/client.js) parses and dispatches
 * each frame with no try/catch: an unparsable frame, an event type its Swagger models do not know, or
 * an event whose object a listener needs and does not get throws from inside the websocket's data
 * handler, an uncaught exception. ari-client makes a new websocket (its `_ws`) on every reconnect and
 * adds that listener right after: `_ws` becomes an accessor that wraps, on each new socket, the
 * 'message' listeners added to it, so that a frame that throws is reported and dropped, and the
 * frames after it are handled as usual.
 */
export function guardFrames(client: object, onDropped: (frame: DroppedFrame) => void): void {
  const target = client as { _ws?: unknown };
  let socket: unknown = target._ws;
  Object.defineProperty(client, '_ws', {
    configurable: true,
    enumerable: true,
    get: () => socket,
    set: (next: unknown) => {
      socket = next;
      if (next && typeof next === 'object') guardSocket(next as { on: (event: string, l: Listener) => unknown }, onDropped);
    },
  });
}

function guardSocket(ws: { on: (event: string, l: Listener) => unknown; addListener?: (event: string, l: Listener) => unknown }, onDropped: (frame: DroppedFrame) => void): void {
  const wrap = (add: (event: string, l: Listener) => unknown) =>
    function (this: unknown, event: string, listener: Listener) {
      if (event !== 'message') return add.call(ws, event, listener);
      return add.call(ws, event, function guarded(this: unknown, ...args: unknown[]) {
        try {
          return listener.apply(this, args);
        } catch (e) {
          onDropped(describeFrame(e, args[0]));
          return undefined;
        }
      });
    };
  const on = ws.on;
  ws.on = wrap(on);
  if (ws.addListener) ws.addListener = wrap(ws.addListener);
}

function describeFrame(e: unknown, frame: unknown): DroppedFrame {
  const text = typeof frame === 'string' ? frame : Buffer.isBuffer(frame) ? frame.toString('utf8') : '';
  const out: DroppedFrame = { error: e instanceof Error ? e.name : typeof e, bytes: Buffer.byteLength(text) };
  const type = /"type"\s*:\s*"([A-Za-z]{1,64})"/.exec(text)?.[1];
  if (type) out.type = type;
  return out;
}

/** Drops every listener of an old client and closes its websocket. */
function closeSocket(c: AnyClient, log: Logger): void {
  (c as unknown as EventEmitter).removeAllListeners();
  try {
    (c as unknown as { stop(): void }).stop();
  } catch (e) {
    log.debug('closing an ARI websocket failed', { error: (e as Error).message });
  }
}

function withTimeout<T>(p: Promise<T> | PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new AriRequestError(`${what} timed out after ${ms} ms`)), ms);
    Promise.resolve(p).then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        const err = e as { message?: string; statusCode?: number };
        reject(new AriRequestError(`${what} failed: ${err?.message ?? String(e)}`, err?.statusCode));
      },
    );
  });
}
