/** The error of a failed or timed-out ARI request, and the timeout every request is bounded by. */

export class AriRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** Asterisk did not answer in time: the request may still take effect (ports/call-control.ts isUncertain). */
    readonly uncertain = false,
  ) {
    super(message);
    this.name = 'AriRequestError';
  }
}

export function withTimeout<T>(p: Promise<T> | PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new AriRequestError(`${what} timed out after ${ms} ms`, undefined, true)), ms);
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
