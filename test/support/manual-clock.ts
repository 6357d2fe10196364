/** Test doubles for time: a clock that moves only when told, and promises the test settles itself. */
import type { Clock } from '../../src/ports/clock';

/** A clock whose time moves only on `advance`, firing the timers that fall due, in order of creation. */
export class ManualClock implements Clock {
  t = Date.UTC(2026, 10, 28, 12, 0, 0);
  timers: { at: number; fn: () => void; live: boolean }[] = [];
  now() {
    return new Date(this.t);
  }
  setTimeout(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, live: true };
    this.timers.push(timer);
    return { cancel: () => (timer.live = false) };
  }
  advance(ms: number) {
    this.t += ms;
    for (const timer of this.timers.filter((x) => x.live && x.at <= this.t)) {
      timer.live = false;
      timer.fn();
    }
  }
  /** Timers set and neither fired nor cancelled. */
  get live() {
    return this.timers.filter((x) => x.live).length;
  }
}

/** A promise whose settlement the test controls. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets the promise callbacks queued so far run. */
export const flush = () => new Promise((r) => setImmediate(r));
