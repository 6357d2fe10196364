/**
 * The per-call requests over plain HTTP on a bounded keep-alive pool (see AriAdapter: ari-client's
 * Swagger layer is kept for the events websocket and the rare requests). node:http, not undici: in
 * a 2,000-call soak undici's pool cost more CPU per call (13.3 against 12.6 ms) and its memory grew
 * (RSS 160 MB, +10.5 MB per 1,000 calls, against 138 MB and +2.0): docs/benchmark.md.
 */
import http from 'node:http';
import { AriRequestError } from './request';

/**
 * Connections to Asterisk's HTTP server for the per-call requests. Bounded well below http.conf's
 * sessionlimit: without a bound, a burst of calls opens a connection per request in flight and
 * Asterisk refuses those past the limit.
 */
export const MAX_SOCKETS = 128;

export class AriRest {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });

  /** Host, port, path prefix and Basic authorization header of the REST requests, parsed once. */
  private readonly restBase: { host: string; port: string; path: string; authorization: string };

  constructor(private readonly settings: { url: string; user: string; password: string; requestTimeoutMs: number }) {
    const u = new URL(`${settings.url.replace(/\/+$/, '')}/ari`);
    this.restBase = {
      host: u.hostname.replace(/^\[(.*)\]$/, '$1'), // IPv6 literal without brackets
      port: u.port || '80',
      path: u.pathname,
      authorization: `Basic ${Buffer.from(`${settings.user}:${settings.password}`).toString('base64')}`,
    };
  }

  request(method: string, path: string, query: Record<string, string>, what: string, json?: unknown): Promise<string> {
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
      req.on('timeout', () => req.destroy(new AriRequestError(`ARI ${what} timed out after ${requestTimeoutMs} ms`, undefined, true)));
      req.on('error', (e) => reject(e instanceof AriRequestError ? e : new AriRequestError(`ARI ${what} failed: ${e.message}`)));
      req.end(json === undefined ? undefined : JSON.stringify(json));
    });
  }

  /** Closes the pool's connections. */
  close(): void {
    this.agent.destroy();
  }
}
