/**
 * Read-only questions to ARI for `consent-ivr doctor`: does it answer, with these credentials; which
 * modules run. Plain HTTP, no websocket, no state.
 */
export type AriAnswer<T> = { ok: true; value: T } | { ok: false; status: number | null; error: string };

export class AriProbe {
  private readonly base: string;
  private readonly auth: string;

  constructor(
    url: string,
    user: string,
    password: string,
    private readonly timeoutMs: number,
  ) {
    this.base = `${url.replace(/\/+$/, '')}/ari`;
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  private async get<T>(path: string): Promise<AriAnswer<T>> {
    try {
      const res = await fetch(`${this.base}${path}`, { headers: { Authorization: this.auth }, signal: AbortSignal.timeout(this.timeoutMs) });
      const text = await res.text();
      if (!res.ok) return { ok: false, status: res.status, error: `${res.status} ${text.slice(0, 120)}` };
      return { ok: true, value: JSON.parse(text) as T };
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code;
      return { ok: false, status: null, error: cause ?? (e as Error).message };
    }
  }

  /** Asterisk's version, once the credentials are accepted. */
  async version(): Promise<AriAnswer<string>> {
    const r = await this.get<{ system?: { version?: string } }>('/asterisk/info');
    return r.ok ? { ok: true, value: r.value.system?.version ?? '?' } : r;
  }

  /** Names of the modules Asterisk runs. */
  async runningModules(): Promise<AriAnswer<Set<string>>> {
    const r = await this.get<{ name: string; status: string }[]>('/asterisk/modules');
    return r.ok ? { ok: true, value: new Set(r.value.filter((m) => /running/i.test(m.status)).map((m) => m.name)) } : r;
  }

}
