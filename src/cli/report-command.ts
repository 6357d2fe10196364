/**
 * `consent-ivr report`: the consent rates and trends of a period, from the ledger, as HTML (one
 * self-contained page, French or Arabic), CSV or JSON; aggregates only. Streams the records (bounded
 * memory), with progress on a terminal. Exit codes: 0 ok, 1 failure, 2 bad usage.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { GROUP_BY, type GroupBy, buildReport, reportCsv, reportHtml, reportJson, type ReportLang } from '../report';
import { writeOutputFile } from '../files/output-file';
import { printable } from '../ledger';
import { context, EXIT, out, processIO, progress, run, timeRange, trustedKeys, UsageError, type CliDeps } from './toolkit';
import { withLedgerStore } from '../service/ledger';

export interface ReportOptions {
  since?: string;
  until?: string;
  by?: string;
  format?: string;
  lang?: string;
  out?: string;
}

export function runReport(config: Config, opts: ReportOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'report', async () => {
    const range = timeRange(opts);
    const by = (opts.by ?? 'day') as GroupBy;
    if (!(GROUP_BY as readonly string[]).includes(by)) throw new UsageError(`--by: "${printable(String(opts.by))}" is not one of ${GROUP_BY.join(', ')}`);
    const format = opts.format ?? 'html';
    if (!['html', 'csv', 'json'].includes(format)) throw new UsageError(`--format: "${printable(format)}" is not html, csv or json`);
    const lang = (opts.lang ?? 'fr') as ReportLang;
    if (lang !== 'fr' && lang !== 'ar') throw new UsageError(`--lang: "${printable(String(opts.lang))}" is not fr or ar`);
    const keys = trustedKeys(config);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'records read');
      const report = await buildReport(context(config, store, deps, p.tick), {
        by,
        fromMs: range.fromMs,
        toMs: range.toMs,
        since: opts.since ?? null,
        until: opts.until ?? null,
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
    .option('--since <time>', 'entered at or after this time (ISO 8601; UTC if no zone)')
    .option('--until <time>', 'entered before this time (ISO 8601; UTC if no zone)')
    .option('--by <group>', `one line per ${GROUP_BY.join(' | ')}`, 'day')
    .option('--format <format>', 'html, csv or json', 'html')
    .option('--lang <lang>', 'language of the HTML: fr or ar (right to left)', 'fr')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (o: ReportOptions) => {
      process.exitCode = await runReport(getConfig(), o, deps);
    });
}
