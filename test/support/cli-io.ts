/** What the tests of the CLI's commands run in-process share: captured streams, a settable clock, a silent logger. */
import { Writable } from 'node:stream';
import type { CliIO } from '../../src/cli/toolkit';
import { createLogger } from '../../src/observability/logger';
import type { Clock } from '../../src/ports/clock';

/** Streams that keep what a command writes (`tty`: whether they say they are a terminal). */
export function captureIo(tty = false): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => ((out += s), true), once: () => undefined, isTTY: tty },
      stderr: { write: (s: string) => ((err += s), true), once: () => undefined, isTTY: tty },
    },
    out: () => out,
    err: () => err,
  };
}

/** A clock that says `ms` until told another time; its timers are real. */
export function settableClock(ms: number): Clock & { set(ms: number): void } {
  let now = ms;
  return {
    now: () => new Date(now),
    setTimeout(fn, t) {
      const h = setTimeout(fn, t);
      return { cancel: () => clearTimeout(h) };
    },
    set: (v) => {
      now = v;
    },
  };
}

/** A logger that writes nothing (errors included). */
export const quietLogger = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
