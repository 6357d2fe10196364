/**
 * EXPERIMENTS ONLY -- never loaded by the service in normal use. `npm run bench -- --experiment X`
 * starts the service with `node -r <this file>` to measure what a change to src/ would gain before
 * anyone makes it. Each experiment patches the built code in memory; src/ and dist/ stay untouched.
 *
 *   quiet-logs   levels below the configured one become no-ops (winston otherwise formats every
 *                entry, JSON and timestamp included, before its transport drops it): the proposed
 *                change to src/logging/logger.ts
 *   ari-pool     ari-client's requests share at most 64 keep-alive connections (http.globalAgent,
 *                which ari-client's HTTP layer uses, is unbounded: at 1,000 calls it opens more
 *                sessions than Asterisk's http.conf sessionlimit): the proposed one-line change in
 *                src/adapters/ari/ari-adapter.ts
 *   ledger-batch the ledger appender sends up to 512 events per Redis script instead of 64, so a
 *                burst of decisions needs fewer round trips (src/ledger/appender.ts)
 *   direct-ari   the four hot ARI requests (answer, play, stop playback, continue) as plain HTTP
 *                requests over a keep-alive agent instead of ari-client's swagger/shred stack: the
 *                proposed change to src/adapters/ari/ari-adapter.ts
 *
 * Selected with BENCH_EXPERIMENTS (comma-separated).
 */
import { Agent, globalAgent, request } from 'node:http';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../../../../..');
const chosen = new Set((process.env.BENCH_EXPERIMENTS ?? '').split(',').filter(Boolean));

type AnyFn = (...args: unknown[]) => unknown;

if (chosen.has('quiet-logs')) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const winston = require(require.resolve('winston', { paths: [REPO] })) as { createLogger: AnyFn };
  const original = winston.createLogger;
  winston.createLogger = (...args: unknown[]) => {
    const logger = original(...args) as Record<string, unknown> & { levels: Record<string, number>; level: string };
    const max = logger.levels[logger.level] ?? Infinity;
    for (const [name, rank] of Object.entries(logger.levels)) {
      if (rank > max) {
        logger[name] = function (this: unknown) {
          return this;
        };
      }
    }
    return logger;
  };
}

if (chosen.has('ari-pool')) {
  globalAgent.maxSockets = 64;
}

if (chosen.has('ledger-batch')) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(resolve(REPO, 'dist/ledger/appender.js')) as { ChainAppender: { prototype: Record<string, AnyFn> } };
  const proto = mod.ChainAppender.prototype;
  const submit = proto.submit as AnyFn;
  proto.submit = function (this: { opts: { batchMax: number; maxConflicts: number } }, ...args: unknown[]) {
    if (this.opts.batchMax < 512) this.opts = { ...this.opts, batchMax: 512 };
    return submit.apply(this, args);
  };
}

if (chosen.has('direct-ari')) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(resolve(REPO, 'dist/adapters/ari/ari-adapter.js')) as { AriAdapter: { prototype: Record<string, AnyFn> } };
  const proto = mod.AriAdapter.prototype;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  interface Self {
    settings: { url: string; user: string; password: string; requestTimeoutMs: number };
    stateValue: string;
  }
  const call = (self: Self, method: string, path: string, query: Record<string, string | number | undefined> = {}): Promise<void> => {
    if (self.stateValue !== 'up') return Promise.reject(new Error(`ARI is not connected (${self.stateValue})`));
    const qs = Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const url = new URL(`${self.settings.url}/ari${path}${qs ? `?${qs}` : ''}`);
    return new Promise((res, rej) => {
      const req = request(
        url,
        { method, agent, auth: `${self.settings.user}:${self.settings.password}`, timeout: self.settings.requestTimeoutMs },
        (r) => {
          r.resume();
          r.on('end', () => ((r.statusCode ?? 500) < 300 ? res() : rej(new Error(`ARI ${method} ${path}: ${r.statusCode}`))));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`ARI ${method} ${path} timed out`)));
      req.on('error', rej);
      req.end();
    });
  };
  const enc = encodeURIComponent;
  proto.answer = function (this: Self, channelId: unknown) {
    return call(this, 'POST', `/channels/${enc(String(channelId))}/answer`);
  };
  proto.play = function (this: Self, channelId: unknown, playbackId: unknown, sound: unknown, lang: unknown) {
    return call(this, 'POST', `/channels/${enc(String(channelId))}/play/${enc(String(playbackId))}`, { media: `sound:${String(sound)}`, lang: String(lang) });
  };
  proto.stopPlayback = function (this: Self, playbackId: unknown) {
    return call(this, 'DELETE', `/playbacks/${enc(String(playbackId))}`);
  };
  proto.continueInDialplan = function (this: Self, channelId: unknown, target: unknown) {
    const t = (target ?? {}) as { context?: string; extension?: string; priority?: number };
    return call(this, 'POST', `/channels/${enc(String(channelId))}/continue`, { context: t.context, extension: t.extension, priority: t.priority });
  };
}

/**
 * trace-ledger: no behaviour change; times the ledger's parts and writes them to BENCH_TRACE_FILE at
 * exit: each Redis append (batch size, ms from send to reply), each DurableLedger write (ms from the
 * call to stored, where it went) and each journal append (ms, fsync included).
 */
if (chosen.has('trace-ledger')) {
  const out = { appends: [] as [number, number, number][], writes: [] as [number, number, string][], journal: [] as [number, number][] };
  const now = () => performance.timeOrigin + performance.now();
  const wrap = (file: string, cls: string, method: string, record: (t0: number, ms: number, args: unknown[], result: unknown) => void) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(resolve(REPO, file)) as Record<string, { prototype: Record<string, AnyFn> }>;
    const proto = mod[cls]?.prototype;
    if (!proto) throw new Error(`trace-ledger: ${cls} not found in ${file}`);
    const original = proto[method] as AnyFn;
    proto[method] = async function (this: unknown, ...args: unknown[]) {
      const t0 = now();
      const result = await original.apply(this, args);
      record(t0, now() - t0, args, result);
      return result;
    };
  };
  wrap('dist/adapters/redis/ledger-store.js', 'RedisLedgerStore', 'append', (t0, ms, args) => out.appends.push([t0, ms, (args[1] as unknown[]).length]));
  wrap('dist/ledger/durable-ledger.js', 'DurableLedger', 'write', (t0, ms, _args, where) => out.writes.push([t0, ms, String(where)]));
  wrap('dist/ledger/journal.js', 'Journal', 'append', (t0, ms) => out.journal.push([t0, ms]));
  process.on('exit', () => {
    const file = process.env.BENCH_TRACE_FILE;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (file) (require('node:fs') as typeof import('node:fs')).writeFileSync(file, JSON.stringify(out));
  });
}
