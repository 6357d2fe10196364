/** `consent-ivr ledger show|list|export`: reading the records, for administrators and auditors (CNDP). */
import { Option, type Command } from 'commander';
import { profileSetOf } from '../config/profiles';
import type { Config } from '../config/schema';
import { DEFAULT_PROFILE, OUTCOMES, PROFILE_NAME, type Outcome } from '../domain/vocabulary';
import { csvHeader, csvRow, findRecord, jsonlRow, listRecords, parseStoredRecord, printable, TEXT_HEADER, textRecord, textRow, toStored } from '../ledger';
import { withLedgerStore } from '../service/ledger';
import { context, done, EXIT, out, processIO, progress, run, subcommand, timeRange, UsageError, type CliDeps, type CliIO } from './toolkit';

function parseOutcome(v: string | undefined): Outcome | undefined {
  if (v === undefined) return undefined;
  if (!(OUTCOMES as readonly string[]).includes(v)) throw new UsageError(`--outcome: "${printable(v)}" is not one of ${OUTCOMES.join(', ')}`);
  return v as Outcome;
}

/**
 * The --profile of list and export: any profile name, configured or not (the records of a profile
 * removed from the configuration stay readable); a name that is not in the configuration is noted on
 * stderr, in case it is a typing error.
 */
function parseProfile(config: Config, io: CliIO, command: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!PROFILE_NAME.test(v)) throw new UsageError(`--profile: "${printable(v)}" is not a profile name (letters, digits, '-' and '_', at most 64)`);
  if (!profileSetOf(config).get(v)) io.stderr.write(`consent-ivr ledger ${command}: note: profile ${v} is not in the configuration; its records are read all the same\n`);
  return v;
}

export function runShow(config: Config, uniqueId: string, opts: { json?: boolean }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'show', () =>
    withLedgerStore(config, async (store) => {
      const row = (await findRecord(store, uniqueId))?.row;
      if (!row) {
        io.stderr.write(`consent-ivr ledger show: no record for uniqueid ${printable(uniqueId)}\n`);
        return EXIT.failure;
      }
      const rec = parseStoredRecord(row.json);
      await out(io.stdout, opts.json ? `${JSON.stringify({ ...toStored(rec), chainSeq: row.seq }, null, 2)}\n` : textRecord(rec, { seq: row.seq }));
      return EXIT.ok;
    }),
  );
}

export interface ListOptions {
  since?: string;
  until?: string;
  outcome?: string;
  profile?: string;
  json?: boolean;
}

export function runList(config: Config, opts: ListOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'list', async () => {
    const range = timeRange(opts);
    const outcome = parseOutcome(opts.outcome);
    const profile = parseProfile(config, io, 'list', opts.profile);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records read');
      let n = 0;
      if (opts.json) await out(io.stdout, '[');
      else await out(io.stdout, TEXT_HEADER);
      for await (const recs of listRecords(context(config, store, deps, p.tick), { ...range, outcome, profile })) {
        for (const r of recs) {
          await out(io.stdout, opts.json ? `${n === 0 ? '\n' : ',\n'}${JSON.stringify(toStored(r))}` : textRow(r));
          n += 1;
        }
      }
      if (opts.json) await out(io.stdout, n === 0 ? ']\n' : '\n]\n');
      p.end();
      if (!opts.json && io.stderr.isTTY) io.stderr.write(`${n} record(s)\n`);
      return EXIT.ok;
    });
  });
}

export interface ExportOptions {
  format: string;
  since?: string;
  until?: string;
  profile?: string;
}

export function runExport(config: Config, opts: ExportOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'export', async () => {
    if (opts.format !== 'csv' && opts.format !== 'jsonl') throw new UsageError(`--format: "${printable(opts.format)}" is not csv or jsonl`);
    const range = timeRange(opts);
    const profile = parseProfile(config, io, 'export', opts.profile);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records exported');
      if (opts.format === 'csv') await out(io.stdout, csvHeader());
      for await (const recs of listRecords(context(config, store, deps, p.tick), { ...range, profile })) {
        await out(io.stdout, recs.map(opts.format === 'csv' ? csvRow : jsonlRow).join(''));
      }
      p.end();
      return EXIT.ok;
    });
  });
}

export function registerRecordCommands(ledger: Command, getConfig: () => Config, deps: CliDeps): void {
  const io = deps.io ?? processIO;
  const since = new Option('--since <time>', 'entered at or after this time (ISO 8601; UTC if no zone)');
  const until = new Option('--until <time>', 'entered before this time (ISO 8601; UTC if no zone)');
  const profile = new Option(
    '--profile <name>',
    `only this campaign profile's records: a profile name (letters, digits, '-' and '_', at most 64), configured or not ` +
      `(a profile removed from the configuration keeps its records); "${DEFAULT_PROFILE}" also takes the records made before profiles`,
  );
  subcommand(ledger, 'show', io)
    .description('one record, by the channel UNIQUEID')
    .argument('<uniqueid>')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => done(await runShow(getConfig(), id, o, deps)));

  subcommand(ledger, 'list', io)
    .description('records, oldest first')
    .addOption(since)
    .addOption(until)
    .option('--outcome <outcome>', `only this outcome (${OUTCOMES.join(', ')})`)
    .addOption(profile)
    .option('--json', 'print a JSON array')
    .action(async (o: ListOptions) => done(await runList(getConfig(), o, deps)));

  subcommand(ledger, 'export', io)
    .description('records for auditors (CNDP): CSV or JSON Lines on stdout')
    .requiredOption('--format <format>', 'csv or jsonl')
    .addOption(new Option('--since <time>', since.description))
    .addOption(new Option('--until <time>', until.description))
    .addOption(new Option('--profile <name>', profile.description))
    .action(async (o: ExportOptions) => done(await runExport(getConfig(), o, deps)));
}
