/**
 * The per-call requests over a bounded keep-alive pool of undici (see AriAdapter: ari-client's
 * Swagger layer is kept for the events websocket and the rare requests). undici costs about a third
 * of the CPU of node:http per request, which a burst of calls pays several times per call.
 */
import { Pool, errors } from 'undici';
import { AriRequestError } from './request';

/**
 * Connections to Asterisk's HTTP server for the per-call requests. Bounded well below http.conf's
 * sessionlimit: without a bound, a burst of calls opens a connection per request in flight and
 * Asterisk refuses those past the limit.
 */
export const MAX_SOCKETS = 128;

/** undici's errors that mean "no answer in time": the request may still take effect. */
function timedOut(e: unknown): boolean {
  return e instanceof errors.HeadersTimeoutError || e instanceof errors.BodyTimeoutError || e instanceof errors.ConnectTimeoutError;
}

export class AriRest {
  private readonly pool: Pool;
  /** Path prefix and headers of the REST requests, made once. */
  private readonly base: { path: string; plain: Record<string, string>; json: Record<string, string> };

  constructor(private readonly settings: { url: string; user: string; password: string; requestTimeoutMs: number }) {
    const u = new URL(`${settings.url.replace(/\/+$/, '')}/ari`);
    const authorization = `Basic ${Buffer.from(`${settings.user}:${settings.password}`).toString('base64')}`;
    this.base = { path: u.pathname, plain: { authorization }, json: { authorization, 'content-type': 'application/json' } };
    const ms = settings.requestTimeoutMs;
    // One request at a time per connection (no pipelining): Asterisk's HTTP server answers in order anyway.
    this.pool = new Pool(u.origin, { connections: MAX_SOCKETS, pipelining: 1, headersTimeout: ms, bodyTimeout: ms, connectTimeout: ms, keepAliveTimeout: 30_000 });
  }

  async request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, query: Record<string, string>, what: string, json?: unknown): Promise<string> {
    const { requestTimeoutMs } = this.settings;
    const qs = new URLSearchParams(query).toString();
    let status: number;
    let body: string;
    try {
      const res = await this.pool.request({
        method,
        path: `${this.base.path}${path}${qs ? `?${qs}` : ''}`,
        headers: json === undefined ? this.base.plain : this.base.json,
        body: json === undefined ? undefined : JSON.stringify(json),
      });
      status = res.statusCode;
      body = await res.body.text();
    } catch (e) {
      if (timedOut(e)) throw new AriRequestError(`ARI ${what} timed out after ${requestTimeoutMs} ms`, undefined, true);
      throw new AriRequestError(`ARI ${what} failed: ${(e as Error).message}`);
    }
    if (status >= 200 && status < 300) return body;
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      // not JSON: keep the text
    }
    throw new AriRequestError(`ARI ${what} failed: ${status} ${message.slice(0, 200)}`, status);
  }

  /** Closes the pool's connections (requests in flight fail). */
  close(): void {
    void this.pool.destroy().catch(() => undefined);
  }
}
