/**
 * What the commands of consent-ivr share: where they write (stdout for results, stderr for progress and
 * errors), exit codes (0 ok, 1 verification break or operational failure, 2 bad usage), option parsing,
 * the maintenance context over a ledger store, and the keys checkpoints are signed and checked with.
 * Each command is a function taking the configuration (run*), so it can be tested without a process;
 * commands stream (bounded memory) and show progress on stderr only when stderr is a terminal.
 */
import { once } from 'node:events';
import { type Command } from 'commander';
import { RedisConfigError } from '../adapters/redis';
import { profileSetOf } from '../config/profiles';
import type { Config } from '../config/schema';
import { EvidenceError, KeyFileError, parseSigner, readVerifierFiles, verifierOf, type SignerKey, type VerifierKey } from '../evidence';
import { adminContextDefaults, AdminUsageError, printable, type AdminContext, type AdminStore } from '../ledger';

export interface CliStream {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  isTTY?: boolean;
}

export interface CliIO {
  stdout: CliStream;
  stderr: CliStream;
  /** For `erase --caller -`. */
  stdin?: NodeJS.ReadableStream;
}

export interface CliDeps {
  io?: CliIO;
  /** The clock of erase and purge (tests move it). */
  now?: () => Date;
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };

export async function out(stream: CliStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream as unknown as NodeJS.EventEmitter, 'drain');
}

/** Progress on stderr, only when it is a terminal; at most ~5 updates a second. */
export function progress(io: CliIO, label: string): { tick(n: number): void; end(): void } {
  if (!io.stderr.isTTY) return { tick: () => undefined, end: () => undefined };
  let last = 0;
  let shown = false;
  return {
    tick(n) {
      const t = Date.now();
      if (t - last < 200) return;
      last = t;
      shown = true;
      io.stderr.write(`\r${label}: ${n}`);
    },
    end() {
      if (shown) io.stderr.write('\n');
    },
  };
}

// ------------------------------------------------------------------------------------ option parsing

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** ISO 8601 date or date-time; a date alone or a time without zone is taken as UTC. */
export function parseTimeOption(name: string, value: string): number {
  const m = DATE_RE.exec(value.trim());
  const bad = () =>
    new UsageError(`${name}: "${printable(value)}" is not a date; use ISO 8601, e.g. 2025-01-31 or 2025-01-31T08:00:00Z (a date or time without zone is UTC)`);
  if (!m) throw bad();
  const [, y, mo, d, h = '00', mi = '00', s = '00'] = m;
  const zone = m[7];
  const text = `${y}-${mo}-${d}T${h}:${mi}:${s}${value.trim().match(/\.\d{1,3}/)?.[0] ?? ''}${zone ? (zone === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z'}`;
  const ms = Date.parse(text);
  // Date.parse rolls 2025-02-30 over to March: check the fields survived.
  const check = new Date(Date.parse(`${y}-${mo}-${d}T00:00:00Z`));
  if (!Number.isFinite(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() + 1 !== Number(mo) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw bad();
  }
  return ms;
}

export function timeRange(o: { since?: string; until?: string }): { fromMs: number; toMs: number } {
  const fromMs = o.since === undefined ? -Infinity : parseTimeOption('--since', o.since);
  const toMs = o.until === undefined ? Infinity : parseTimeOption('--until', o.until);
  if (fromMs >= toMs) throw new UsageError('--since must be before --until');
  return { fromMs, toMs };
}

/** The first line of standard input (`--caller -`: a number kept out of the shell's history). */
export async function readLine(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (!stream) throw new UsageError('--caller -: no standard input');
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    if (text.includes('\n') || text.length > 256) break;
  }
  return text.split('\n')[0] ?? '';
}

/** A caller number from `--caller`: as given, or the first line of stdin for "-". Never printed. */
export async function callerNumber(io: CliIO, value: string): Promise<string> {
  const number = value === '-' ? await readLine(io.stdin) : value;
  if (number.trim() === '') throw new UsageError('--caller: empty number');
  return number;
}

// ----------------------------------------------------------------------------------------- plumbing

export function context(config: Config, store: AdminStore, deps: CliDeps, onProgress?: (n: number) => void): AdminContext {
  return {
    ...adminContextDefaults,
    store,
    now: deps.now ?? (() => new Date()),
    serverId: config.server.id,
    recordingDir: config.recording.dir,
    retentionDays: config.ledger.retentionDays,
    profileRetention: Object.fromEntries(profileSetOf(config).all.map((p) => [p.name, p.retentionDays])),
    pseudonymKey: config.secrets.pseudonymKey,
    progress: onProgress,
  };
}

/** Runs a command body and turns its failure into a message and an exit code. */
export async function run(io: CliIO, command: string, body: () => Promise<number>, group = 'ledger '): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof AdminUsageError || e instanceof RedisConfigError || e instanceof KeyFileError;
    if (e instanceof EvidenceError) {
      io.stderr.write(`consent-ivr ${group}${command}: ${printable(e.message)}\n`);
      return EXIT.failure;
    }
    io.stderr.write(`consent-ivr ${group}${command}: ${printable(e instanceof Error ? e.message : String(e))}\n`);
    return usage ? EXIT.usage : EXIT.failure;
  }
}

/**
 * The signing key, when this host has it: the loader reads it as an optional secret (environment,
 * systemd credential or ledger.signingKeyFile); null otherwise.
 */
export function optionalSigner(config: Config): SignerKey | null {
  if (!config.secrets.signingKey.trim()) return null;
  try {
    return parseSigner(config.secrets.signingKey);
  } catch (e) {
    throw new KeyFileError(`ledger.signingKeyFile: ${config.ledger.signingKeyFile} is not a checkpoint signing key (${(e as Error).message})`);
  }
}

/** The public keys checkpoints are checked with: --key files, ledger.trustedKeyFiles and the signing key's. */
export function trustedKeys(config: Config, extra: readonly string[] = []): VerifierKey[] {
  const keys = readVerifierFiles([...extra, ...config.ledger.trustedKeyFiles]);
  const signer = optionalSigner(config);
  if (signer) keys.push(verifierOf(signer));
  return keys;
}

/** A subcommand of `group` writing its help and errors to the command's streams (not commander's own). */
export function subcommand(group: Command, name: string, io: CliIO): Command {
  return group
    .command(name)
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
}

/** Sets the process's exit code from a command's result. */
export const done = (code: number): void => {
  process.exitCode = code;
};

/** For options given several times (--key a --key b). */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
