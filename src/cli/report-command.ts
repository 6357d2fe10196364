/**
 * `consent-ivr report`: the consent rates and trends of a period, from the ledger, as HTML (one
 * self-contained page, French or Arabic), CSV or JSON; aggregates only; of every campaign profile or
 * of one. Days, weeks and months are those of a time zone (--tz, the host's by default), and so are
 * --since and --until without an offset. Streams the records (bounded memory), with progress on a
 * terminal. Exit codes: 0 ok, 1 failure, 2 bad usage.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { PROFILE_NAME } from '../domain/vocabulary';
import { GROUP_BY, type GroupBy, buildReport, hostTimeZone, parseZonedTime, REPORT_LANGS, reportCsv, reportHtml, reportJson, type ReportLang, timeZoneName, ZoneCalendar } from '../report';
import { writeOutputFile } from '../files/output-file';
import { printable } from '../ledger';
import { context, EXIT, out, processIO, progress, run, trustedKeys, UsageError, type CliDeps } from './toolkit';
import { withLedgerStore } from '../service/ledger';

export interface ReportOptions {
  since?: string;
  until?: string;
  tz?: string;
  by?: string;
  profile?: string;
  format?: string;
  lang?: string;
  out?: string;
}

/** The period's bounds (ms), --since and --until without an offset read in the calendar's zone. */
function periodOf(opts: ReportOptions, cal: ZoneCalendar): { fromMs: number; toMs: number } {
  const bound = (name: string, value: string | undefined, open: number): number => {
    if (value === undefined) return open;
    const ms = parseZonedTime(value, cal);
    if (ms === null) {
      throw new UsageError(`${name}: "${printable(value)}" is not a date; use ISO 8601, e.g. 2026-11-01 or 2026-11-01T08:00 (in ${cal.zone}, the --tz zone) or 2026-11-01T08:00:00Z`);
    }
    return ms;
  };
  const fromMs = bound('--since', opts.since, -Infinity);
  const toMs = bound('--until', opts.until, Infinity);
  if (fromMs >= toMs) throw new UsageError('--since must be before --until');
  return { fromMs, toMs };
}

export function runReport(config: Config, opts: ReportOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'report', async () => {
    const zone = timeZoneName(opts.tz ?? hostTimeZone());
    if (zone === null) throw new UsageError(`--tz: "${printable(String(opts.tz))}" is not a time zone; use an IANA name, e.g. Africa/Casablanca, Europe/Paris or UTC`);
    const range = periodOf(opts, new ZoneCalendar(zone));
    const by = (opts.by ?? 'day') as GroupBy;
    if (!(GROUP_BY as readonly string[]).includes(by)) throw new UsageError(`--by: "${printable(String(opts.by))}" is not one of ${GROUP_BY.join(', ')}`);
    if (opts.profile !== undefined && !PROFILE_NAME.test(opts.profile)) throw new UsageError(`--profile: "${printable(opts.profile)}" is not a profile name (letters, digits, '-' and '_')`);
    const format = opts.format ?? 'html';
    if (!['html', 'csv', 'json'].includes(format)) throw new UsageError(`--format: "${printable(format)}" is not html, csv or json`);
    const lang = (opts.lang ?? 'fr') as ReportLang;
    if (!(REPORT_LANGS as readonly string[]).includes(lang)) throw new UsageError(`--lang: "${printable(String(opts.lang))}" is not ${REPORT_LANGS.join(' or ')}`);
    const keys = trustedKeys(config);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records read');
      const report = await buildReport(context(config, store, deps, p.tick), {
        by,
        fromMs: range.fromMs,
        toMs: range.toMs,
        since: opts.since ?? null,
        until: opts.until ?? null,
        zone,
        profile: opts.profile ?? null,
        keys,
        recordingFormat: config.recording.format,
        hostCheckpointFile: config.ledger.checkpointFile,
        checkpointIntervalMs: config.ledger.checkpointIntervalMs,
      });
      p.end();
      const text = format === 'json' ? reportJson(report) : format === 'csv' ? reportCsv(report) : reportHtml(report, lang);
      if (opts.out) {
        writeOutputFile(opts.out, text, 0o640);
        io.stderr.write(`report written to ${printable(opts.out)}: ${report.total.calls} call(s) in ${report.groups.length} group(s); ledger ${report.ledger.ok ? 'verified' : 'verification FAILED'}\n`);
      } else await out(io.stdout, text);
      return EXIT.ok;
    });
  }, '');
}

export function registerReportCommand(program: Command, getConfig: () => Config, deps: CliDeps = {}): void {
  program
    .command('report')
    .description('consent rates and trends of a period, from the ledger: HTML (fr or ar), CSV or JSON; aggregates only')
    .option('--since <time>', 'entered at or after this time (ISO 8601; in the --tz zone if no offset)')
    .option('--until <time>', 'entered before this time (ISO 8601; in the --tz zone if no offset)')
    .option('--tz <zone>', "IANA time zone of the days, weeks and months and of --since/--until, e.g. Africa/Casablanca (default: the host's)")
    .option('--by <group>', `one line per ${GROUP_BY.join(' | ')}`, 'day')
    .option('--profile <name>', 'only the calls of this campaign profile (calls made before profiles are the default profile\'s)')
    .option('--format <format>', 'html, csv or json', 'html')
    .option('--lang <lang>', 'language of the HTML: fr or ar (right to left)', 'fr')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (o: ReportOptions) => {
      process.exitCode = await runReport(getConfig(), o, deps);
    });
}
