/**
 * A person's right of access (Law 09-08, art. 7), behind `consent-ivr ledger access`: every record
 * of theirs in the ledger (inbound and outbound calls, every log and campaign profile), the entries
 * about their calls, the notice each heard, their recordings (decrypted copies with the controller's
 * identity, else listed) and a cover letter in French and Arabic, in one new folder only they may
 * read. Their number is pseudonymised at once and appears nowhere: not in the folder, not in the
 * output, not in the log. The access is logged as one `access` entry in this host's log (how many
 * records and recordings were given; no number, no pseudonym), before the folder gets its name:
 * nothing is handed over unlogged.
 */
import { randomUUID } from 'node:crypto';
import type { ProfileSet } from '../config/profiles';
import { AdminUsageError, ChainAppender, isAnonymous, pseudonymise, type AdminContext, type EventBody } from '../ledger';
import { collectAccess } from './collect';
import { AccessFolder } from './folder';
import { writeAccess, type RecordingOpener, type Written } from './write';

export interface AccessOptions {
  /** The folder to create (absent, or empty). */
  outDir: string;
  profiles: ProfileSet;
  /** With the controller's identity: opens each recording of this server into the folder. Null: they are listed. */
  opener: RecordingOpener | null;
}

export interface AccessReport extends Written {
  /** The folder, as an absolute path. */
  outDir: string;
  /** Every file of the folder, relative to it. */
  files: string[];
  /** Records indexed under the person that do not read as records (edited; whose they are cannot be told): left out. */
  unreadable: number;
  /** Calls some of whose entries are no longer in the log: `ledger verify` says why. */
  incomplete: number;
  /** The log the access entry was appended to. */
  log: string;
}

/** Appends the access entry to this host's log: counts only. */
async function logAccess(ctx: AdminContext, records: number, recordings: number): Promise<void> {
  await ctx.store.registerLog(ctx.store.log);
  const body: EventBody = { type: 'access', at: ctx.now().toISOString(), records, recordings };
  await new ChainAppender(ctx.store).submit({ eventId: (ctx.newId ?? randomUUID)(), body: JSON.stringify(body), record: null }).done;
}

/**
 * Gives a person access to their data: writes the folder, logs the access, then gives the folder its
 * name. A target that is not new or empty, and an anonymous or empty number, are refused before
 * anything is read (AdminUsageError); on any failure the folder is removed.
 */
export async function giveAccess(ctx: AdminContext, number: string, opts: AccessOptions): Promise<AccessReport> {
  if (isAnonymous(number)) throw new AdminUsageError('--caller: an anonymous or empty number matches every withheld caller; access needs a real number');
  const pseudonym = pseudonymise(number, ctx.pseudonymKey);
  const folder = AccessFolder.open(opts.outDir);
  try {
    const collected = await collectAccess(ctx, pseudonym);
    const written = await writeAccess(folder, collected, {
      profiles: opts.profiles,
      serverId: ctx.serverId,
      defaultRetentionDays: ctx.retentionDays,
      opener: opts.opener,
      now: ctx.now(),
    });
    await logAccess(ctx, written.records, written.recordings);
    folder.commit();
    return {
      ...written,
      outDir: folder.target,
      files: [...folder.files],
      unreadable: collected.unreadable,
      incomplete: collected.calls.filter((c) => c.missing.length > 0).length,
      log: ctx.store.log,
    };
  } finally {
    folder.discard();
  }
}
