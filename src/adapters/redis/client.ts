/**
 * The ioredis client for single Redis, Sentinel or Cluster (config `redis.mode`).
 *
 * Every command is bounded (`commandTimeout`), commands fail at once while disconnected (no offline
 * queue) and are retried at most once across a reconnect; the client reconnects forever with capped
 * backoff. Credentials, database and TLS come from `redis.url` in every mode (redis[s]://user:pass@host:port/db);
 * the password is never logged.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConfigFile } from '../../config/schema';
import { safe, type Logger } from '../../observability/logger';

export type RedisSettings = ConfigFile['redis'];
export type RedisClient = Redis | Cluster;

export class RedisConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisConfigError';
  }
}

export interface Endpoint {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port" or "host" (default port). */
export function parseEndpoint(s: string, defaultPort: number, key: string): Endpoint {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s.trim()) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(s.trim());
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RedisConfigError(`${key}: "${safe(s)}" is not host:port`);
  }
  return { host: m[1], port };
}

interface UrlParts extends Endpoint {
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: boolean;
}

export function parseRedisUrl(url: string): UrlParts {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisConfigError('redis.url: not a URL (expected redis://[user:password@]host:port/db)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisConfigError('redis.url: must start with redis:// or rediss://');
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new RedisConfigError('redis.url: the path must be a database number, e.g. /0');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db,
    tls: u.protocol === 'rediss:',
  };
}

/** The URL with its password replaced, for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable redis.url)';
  }
}

/** Where the client connects, for logs and messages (no credentials). */
export function describeTarget(s: RedisSettings): string {
  switch (s.mode) {
    case 'sentinel':
      return `sentinel ${s.sentinelName} via ${s.sentinels.join(',')}`;
    case 'cluster':
      return `cluster ${s.clusterNodes.join(',')}`;
    default:
      return redactUrl(s.url);
  }
}

export interface ClientOptions {
  /** app: reconnect forever. cli: fail fast (one connection attempt, a few retries). */
  role: 'app' | 'cli';
  /** Do not connect until connect() is called. */
  lazy?: boolean;
}

function backoff(capMs: number): (times: number) => number {
  return (times) => Math.min(capMs, 50 * 2 ** Math.min(times, 16)) + Math.floor(Math.random() * 100);
}

export function createRedisClient(s: RedisSettings, logger: Logger, opts: ClientOptions): RedisClient {
  const url = parseRedisUrl(s.url);
  const retry = opts.role === 'app' ? backoff(s.reconnectMaxDelayMs) : (times: number) => (times > 2 ? null : 200 * times);
  const common: RedisOptions = {
    username: url.username,
    password: url.password,
    db: url.db,
    tls: url.tls ? {} : undefined,
    commandTimeout: s.commandTimeoutMs,
    connectTimeout: s.connectTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: opts.lazy ?? false,
    connectionName: `consent-ivr-${opts.role}`,
    // RESP2: flat replies (ZRANGE … WITHSCORES, XINFO) whatever the server's default protocol.
    protocol: 2,
    // The service's commands of one tick (the calls of a burst, the workers' reads) go out in one write.
    enableAutoPipelining: opts.role === 'app',
  };
  let client: RedisClient;
  switch (s.mode) {
    case 'single':
      client = new Redis({ ...common, host: url.host, port: url.port, retryStrategy: retry });
      break;
    case 'sentinel': {
      if (s.sentinels.length === 0) throw new RedisConfigError('redis.sentinels: required when redis.mode is sentinel');
      client = new Redis({
        ...common,
        sentinels: s.sentinels.map((e, i) => parseEndpoint(e, 26379, `redis.sentinels[${i}]`)),
        name: s.sentinelName,
        role: 'master',
        sentinelRetryStrategy: retry,
        retryStrategy: retry,
      });
      break;
    }
    case 'cluster': {
      if (s.clusterNodes.length === 0) throw new RedisConfigError('redis.clusterNodes: required when redis.mode is cluster');
      const nodes = s.clusterNodes.map((e, i) => parseEndpoint(e, 6379, `redis.clusterNodes[${i}]`));
      const redisOptions = { ...common, db: undefined };
      delete redisOptions.enableOfflineQueue;
      delete redisOptions.lazyConnect;
      const clusterOptions: ClusterOptions = {
        redisOptions,
        enableOfflineQueue: false,
        lazyConnect: opts.lazy ?? false,
        clusterRetryStrategy: retry,
        scaleReads: 'master',
      };
      client = new Cluster(nodes, clusterOptions);
      break;
    }
  }
  watch(client, s, logger);
  return client;
}

/** Clients being closed on purpose: their 'close' is not a lost connection. */
const closing = new WeakSet<RedisClient>();

/** Logs state changes once each (not every failed reconnect attempt). */
function watch(client: RedisClient, s: RedisSettings, logger: Logger): void {
  const target = describeTarget(s);
  let up = false;
  let lastError = '';
  client.on('ready', () => {
    up = true;
    lastError = '';
    logger.info('redis: ready', { target: safe(target) });
  });
  client.on('error', (e: unknown) => {
    const msg = safe(e instanceof Error ? e.message : String(e));
    if (msg !== lastError) logger.warn('redis: error', { target: safe(target), error: msg });
    lastError = msg;
  });
  client.on('close', () => {
    if (closing.has(client)) logger.info('redis: closed', { target: safe(target) });
    else if (up) logger.warn('redis: connection lost; reconnecting', { target: safe(target) });
    up = false;
  });
}

/** True when the client can take commands now. */
export function isReady(client: RedisClient): boolean {
  return client.status === 'ready';
}

/** Waits for the first connection (lazy clients); rejects after connectTimeoutMs. */
export async function connectOnce(client: RedisClient, timeoutMs: number): Promise<void> {
  if (isReady(client)) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Closes the client, waiting at most `ms` for QUIT. */
export async function closeClient(client: RedisClient, ms = 1000): Promise<void> {
  if (client.status === 'end') return;
  closing.add(client);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.quit().then(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
  } catch {
    // QUIT failed (already disconnected): disconnecting below is all that is left to do
  } finally {
    if (timer) clearTimeout(timer);
    client.disconnect();
  }
}

/** Whether Redis keeps data across a restart: append-only file, RDB snapshots (null: cannot tell). */
export interface Persistence {
  aof: boolean;
  rdb: boolean | null;
}

/**
 * Asks Redis how it persists (on Cluster, the node the client asks). RDB snapshots are configured when
 * `save` is not empty; managed Redis may refuse CONFIG, then only the AOF is known.
 */
export async function persistence(client: RedisClient): Promise<Persistence> {
  const info = String(await client.call('INFO', 'persistence'));
  const aof = /^aof_enabled:1\s*$/m.test(info);
  const rdb = await (client.call('CONFIG', 'GET', 'save') as Promise<string[]>).then(
    (save) => String(save[1] ?? '').trim() !== '',
    () => null,
  );
  return { aof, rdb };
}

/** Redis's clock (TIME), in ms since the epoch. */
export async function redisTimeMs(client: RedisClient): Promise<number> {
  const [s, us] = (await client.call('TIME')) as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/**
 * The keys matching a SCAN pattern, in chunks; on Cluster, from every master. A key may come twice
 * (SCAN's guarantee), never not at all if it existed throughout.
 */
export async function* scanKeys(client: RedisClient, pattern: string, count: number): AsyncIterable<string[]> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = (await node.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', count)) as [string, string[]];
      cursor = String(next);
      if (keys.length > 0) yield keys.map(String);
    } while (cursor !== '0');
  }
}
