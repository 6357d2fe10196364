/**
 * Workaround for ari-client's Swagger loader, used around each connect attempt: it replaces
 * console.log for the attempt and adds a process-wide uncaughtException listener.
 */

/**
 * While ari-client connects: its Swagger 1.1 loader prints a deprecation notice with console.log
 * (which would break the JSON log stream) and throws its load failures from a callback. Drop the
 * notice, and turn those throws (strings such as "401 : … /ari/api-docs/…") into nothing: the
 * connect promise already rejects for them.
 */
export async function withSwaggerFailuresCaught<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.log;
  console.log = (...args: unknown[]) => {
    if (JSON.stringify(args).includes('deprecated version of Swagger')) return;
    original(...args);
  };
  const swallow = (e: unknown) => {
    if (isSwaggerLoadFailure(e)) return;
    process.removeListener('uncaughtException', swallow);
    // Another listener (the command's crash handler) deals with it; alone, crash as Node would.
    if (process.listenerCount('uncaughtException') === 0) throw e;
  };
  swaggerLoads += 1;
  process.on('uncaughtException', swallow);
  try {
    return await fn();
  } finally {
    console.log = original;
    // Late throws of this connect attempt arrive within the same tick range; leave a short window.
    setTimeout(() => {
      swaggerLoads -= 1;
      process.removeListener('uncaughtException', swallow);
    }, 1000).unref();
  }
}

/** Connect attempts whose Swagger loader may still throw its failures (see withSwaggerFailuresCaught). */
let swaggerLoads = 0;

/**
 * Whether an uncaught exception is one of ari-client's Swagger load failures ("401 : … /ari/api-docs/…"),
 * thrown while a connect attempt is under way: the connect promise rejects for it already, so a crash
 * handler must let it pass.
 */
export function isSwaggerLoadFailure(e: unknown): boolean {
  return swaggerLoads > 0 && typeof e === 'string' && /api-docs/.test(e);
}
