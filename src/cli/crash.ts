/**
 * What `consent-ivr start` does with an exception nothing caught: the process is in a state nobody
 * planned for, so it logs the error and exits non-zero, and systemd (Restart=on-failure) starts a
 * fresh one, which takes over the calls still in Stasis.
 */
import { safe, type Logger } from '../observability/logger';

/** The exit code after an uncaught exception (EX_SOFTWARE). */
export const CRASH_EXIT_CODE = 70;

/** Longest wait for the log line to be written before exiting anyway. */
const FLUSH_MS = 500;

export function crashHandler(log: Logger, exit: (code: number) => void = (c) => process.exit(c)): (e: unknown) => void {
  let crashed = false;
  return (e: unknown) => {
    if (crashed) return;
    crashed = true;
    const err = e instanceof Error ? e : null;
    log.error('uncaught exception: exiting for the service manager to restart consent-ivr', {
      error: safe(err ? `${err.name}: ${err.message}` : String(e)),
      at: safe((err?.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' | ')),
      exitCode: CRASH_EXIT_CODE,
    });
    let done = false;
    const leave = () => {
      if (done) return;
      done = true;
      exit(CRASH_EXIT_CODE);
    };
    log.once('finish', leave);
    log.end();
    setTimeout(leave, FLUSH_MS);
  };
}
