/**
 * winston logging: JSON lines on stdout by default. Every string that reaches a log line goes through
 * `safe()`, which removes control characters (CR/LF can forge log lines) and caps the length.
 * Caller numbers are never passed to the logger: only their pseudonym.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export interface LogSettings {
  level: 'error' | 'warn' | 'info' | 'debug';
  format: 'json' | 'text';
}

const MAX_LOGGED_STRING = 200;

/** Makes an untrusted string safe for a log line: no control characters, bounded length. */
export function safe(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  // eslint-disable-next-line no-control-regex
  const cleaned = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return cleaned.length > MAX_LOGGED_STRING ? `${cleaned.slice(0, MAX_LOGGED_STRING)}…` : cleaned;
}

/** Keys whose values are secrets and are replaced wherever they appear in a log entry. */
const SECRET_KEYS = /pass(word)?|secret|api_?key|token|authorization|pseudonymKey/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) (info as Record<string, unknown>)[key] = '[redacted]';
  }
  return info;
});

export function createLogger(settings: LogSettings, stream: NodeJS.WritableStream = process.stdout): Logger {
  const format =
    settings.format === 'json'
      ? winston.format.combine(redact(), winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          redact(),
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, ...rest }) => {
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `${String(timestamp)} ${level} ${String(message)}${extra}`;
          }),
        );
  const logger = winston.createLogger({
    level: settings.level,
    format,
    transports: [new winston.transports.Stream({ stream })],
  });
  // winston runs the whole format chain before its transport drops a line below the level: make
  // those levels no-ops (children inherit them), so debug lines cost nothing in production.
  const ranks = ['error', 'warn', 'info', 'debug'] as const;
  for (const level of ranks.slice(ranks.indexOf(settings.level) + 1)) {
    (logger as unknown as Record<string, unknown>)[level] = function noop(this: Logger) {
      return this;
    };
  }
  return logger;
}
