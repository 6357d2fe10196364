/** Waiting for a state (polling) or for something to be seen (an AMI event, a log line). */

/** Polls `check` until it returns something other than undefined/false, or `ms` pass (then its last value). */
export async function until<T>(check: () => T | Promise<T>, ms: number, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if ((v !== undefined && v !== false) || Date.now() >= end) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `until`, for a state that must come: its value once it is neither undefined nor false, else throws naming `what`. */
export async function eventually<T>(check: () => T | Promise<T>, ms: number, what: string, everyMs = 100): Promise<Exclude<T, undefined | false>> {
  const v = await until(check, ms, everyMs);
  if (v === undefined || v === false) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
  return v as Exclude<T, undefined | false>;
}

/**
 * Lets `ms` pass, for the rare wait where nothing observable says when it is over; `why` says what
 * the time is for (and why nothing can be awaited instead). Prefer waiting for an event or a state.
 */
export async function letTimePass(ms: number, why: string): Promise<void> {
  if (why.trim() === '') throw new Error('letTimePass: say why the time must pass');
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * What a stream delivered (AMI events, log lines) and who waits for it: `waitFor` resolves with the first
 * item, already seen or coming, that matches. `keep: false` remembers nothing (only waiters see items).
 */
export class Seen<T> {
  readonly items: T[] = [];
  private waiters: { match: (x: T) => boolean; resolve: (x: T) => void }[] = [];

  constructor(
    private readonly keep: boolean | number = true,
    private readonly describe: () => string = () => '',
  ) {}

  add(x: T): void {
    if (this.keep !== false) this.items.push(x);
    if (typeof this.keep === 'number' && this.items.length > this.keep) this.items.shift();
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(x)) return true;
      w.resolve(x);
      return false;
    });
  }

  waitFor(match: (x: T) => boolean, ms: number, what: string): Promise<T> {
    const seen = this.items.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const resolve = (x: T) => {
        clearTimeout(t);
        res(x);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== resolve);
        rej(new Error(`timed out after ${ms} ms waiting for ${what}${this.describe()}`));
      }, ms);
      t.unref();
      this.waiters.push({ match, resolve });
    });
  }
}
