/**
 * `consent-ivr ledger access --caller <number|-> --out DIR [--identity FILE] [--json]`: a person's
 * right of access (Law 09-08, art. 7). Writes a new folder, readable by its owner only, with every
 * record of that person (inbound and outbound, every profile), their calls' entries and notices, a
 * cover letter in French and Arabic, and their recordings: decrypted copies with the controller's
 * identity (--identity), else listed. The number is never printed or logged; the access is logged
 * in the chain (counts only). Exit 0; 1 when a recording could not be copied or the ledger holds
 * something wrong about the person (the folder is written all the same); 2 on bad usage.
 */
import { accessSync, constants } from 'node:fs';
import type { Command } from 'commander';
import { folderProblem, giveAccess, type AccessReport, type RecordingOpener } from '../access';
import { profileSetOf } from '../config/profiles';
import type { Config } from '../config/schema';
import { AgeCli } from '../adapters/age/age-cli';
import { isAnonymous, printable, type AdminStore } from '../ledger';
import { copyPlainRecording, decryptRecording, DecryptRefused } from '../recordings';
import { withLedgerStore } from '../service/ledger';
import { callerNumber, context, done, EXIT, out, processIO, progress, run, subcommand, UsageError, type CliDeps, type CliIO } from './toolkit';

export interface AccessCommandOptions {
  caller: string;
  out: string;
  identity?: string;
  json?: boolean;
}

export interface AccessDeps extends CliDeps {
  /** The opener of recordings for an identity file (by default recordingOpenerFor). */
  opener?: (config: Config, identityFile: string, store: AdminStore) => RecordingOpener;
}

/** Opens this server's recordings with the controller's identity (`--identity`), as decrypted copies. */
export function recordingOpenerFor(config: Config, identityFile: string, store: AdminStore): RecordingOpener {
  const ctx = { store, serverId: config.server.id, recordingDir: config.recording.dir, cipher: new AgeCli(config.recording.encryption.age) };
  return async (uniqueId, outPath) => {
    try {
      await decryptRecording(ctx, uniqueId, identityFile, outPath);
      return { ok: true };
    } catch (e) {
      // A profile that does not encrypt: the plain file, checked against its seal.
      if (e instanceof DecryptRefused && e.reason === 'not-encrypted') {
        return copyPlainRecording(ctx, uniqueId, outPath).then(
          () => ({ ok: true }) as const,
          (c: Error) => ({ ok: false, reason: c.message }),
        );
      }
      if (e instanceof DecryptRefused) return { ok: false, reason: e.message };
      throw e;
    }
  };
}

function recordingsLine(r: AccessReport): string {
  const parts: string[] = [];
  if (r.recordings > 0) parts.push(`${r.recordings} decrypted copy(ies) in recordings/`);
  if (r.listed > 0) parts.push(`${r.listed} listed in README.txt (without --identity: they can be provided decrypted with the controller's identity)`);
  if (r.failures.length > 0) parts.push(`${r.failures.length} could not be copied (below)`);
  if (r.elsewhere.length > 0) {
    const servers = [...new Set(r.elsewhere.map((e) => e.server))].map((s) => `${printable(s)} (${r.elsewhere.filter((e) => e.server === s).length})`);
    parts.push(`${r.elsewhere.length} held by another server: ${servers.join(', ')}; a copy can be made only there`);
  }
  return parts.length > 0 ? `recordings: ${parts.join('; ')}\n` : 'recordings: none\n';
}

function summaryText(r: AccessReport): string {
  const profiles = r.profiles.length > 0 ? ` (profile${r.profiles.length > 1 ? 's' : ''} ${r.profiles.map(printable).join(', ')})` : '';
  return (
    `access: ${r.records} record(s) of this caller${profiles} written to ${printable(r.outDir)}: ${r.files.length} files, the cover letter in French and Arabic (lettre-fr, lettre-ar), README.txt lists them\n` +
    recordingsLine(r) +
    `the access is logged in the chain (log ${printable(r.log || "''")}: records and recordings counted, no number)\n`
  );
}

function warnings(io: CliIO, r: AccessReport): void {
  for (const f of r.failures) io.stderr.write(`not copied: recording of call ${printable(f.uniqueId)}: ${printable(f.reason)}\n`);
  if (r.unreadable > 0) io.stderr.write(`${r.unreadable} record(s) indexed under this caller do not read as records (edited?): left out; run consent-ivr ledger verify\n`);
  if (r.incomplete > 0) io.stderr.write(`${r.incomplete} call(s) of this caller miss entries that are no longer in the log: given as they are; run consent-ivr ledger verify\n`);
}

export function runAccess(config: Config, opts: AccessCommandOptions, deps: AccessDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'access', async () => {
    const number = await callerNumber(io, opts.caller);
    if (isAnonymous(number)) throw new UsageError('--caller: an anonymous or empty number matches every withheld caller; access needs a real number');
    const problem = folderProblem(opts.out);
    if (problem) throw new UsageError(`--out: ${problem}`);
    if (opts.identity !== undefined) {
      try {
        accessSync(opts.identity, constants.R_OK);
      } catch {
        throw new UsageError(`--identity: cannot read ${printable(opts.identity)}`);
      }
    }
    const identity = opts.identity;
    return withLedgerStore(config, async (store) => {
      const opener = identity === undefined ? null : (deps.opener ?? recordingOpenerFor)(config, identity, store);
      const p = progress(io, 'records found');
      const r = await giveAccess(context(config, store, deps, p.tick), number, { outDir: opts.out, profiles: profileSetOf(config), opener });
      p.end();
      await out(io.stdout, opts.json ? `${JSON.stringify(r)}\n` : summaryText(r));
      warnings(io, r);
      return r.failures.length + r.unreadable + r.incomplete > 0 ? EXIT.failure : EXIT.ok;
    });
  });
}

export function registerAccessCommand(ledger: Command, getConfig: () => Config, deps: AccessDeps): void {
  const io = deps.io ?? processIO;
  subcommand(ledger, 'access', io)
    .description("a person's right of access (Law 09-08, art. 7): their records, calls, notices and recordings, with a cover letter in French and Arabic, in a new folder")
    .requiredOption('--caller <number>', 'their number as they give it; "-" reads it from stdin (keeps it out of shell history)')
    .requiredOption('--out <dir>', 'the folder to create (new, or empty): mode 0700, its files 0600')
    .option('--identity <file>', "the controller's identity: decrypted copies of the recordings this server holds go into the folder")
    .option('--json', 'print the report as JSON')
    .action(async (o: AccessCommandOptions) => done(await runAccess(getConfig(), o, deps)));
}
