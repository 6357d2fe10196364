/**
 * `consent-ivr ledger verify|checkpoint|consistency|evidence`: checking the ledger against its signed
 * checkpoints, signing and keeping them elsewhere, and the proofs handed to an auditor or a court.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { Checkpointer, collectEvidence, EvidenceError, proveConsistency, readCheckpointFile, verifyLedger, type SignerKey, type SignResult, type VerifierKey, type VerifyReport } from '../evidence';
import { writeOutputFile } from '../files/output-file';
import { printable, type AdminStore } from '../ledger';
import { createLogger } from '../observability/logger';
import { systemClock } from '../ports/clock';
import { withLedgerStore } from '../service/ledger';
import { collect, context, done, EXIT, optionalSigner, out, processIO, progress, run, subcommand, trustedKeys, UsageError, type CliDeps } from './toolkit';

export interface VerifyCliOptions {
  json?: boolean;
  checkpoint?: string[];
  key?: string[];
  recordings?: boolean;
}

function verifyText(report: VerifyReport): string {
  const lines: string[] = [];
  for (const l of report.logs) {
    const c = l.chain;
    const span = c.head ? `seq ${(c.anchor?.seq ?? 0) + 1}–${c.head.seq}` : 'empty';
    lines.push(`log ${l.log === '' ? '(before per-instance logs)' : printable(l.log)}:`);
    lines.push(
      c.ok
        ? `  chain: OK, ${c.entries} entries (${span})${c.anchor ? `, trimmed before seq ${c.anchor.seq + 1}` : ''}; head ${c.head?.hash ?? '-'}`
        : `  chain: BROKEN (${c.break?.kind ?? '?'}): ${printable(c.break?.message ?? '')}`,
    );
    if (l.acceptedLoss) {
      const a = l.acceptedLoss;
      lines.push(
        `  LOSS ACCEPTED at ${a.at ?? '?'}: ${a.signed} entries had been signed; signing went on from the log's ${a.size} entries` +
          `${a.reason ? ` (reason: ${printable(a.reason)})` : ''}; ${a.checkpointsBefore} earlier checkpoint(s) of this host and Redis not compared`,
      );
    }
    if (l.loss) {
      const where = l.loss.source === 'ledger' ? 'kept in the ledger' : printable(l.loss.source);
      lines.push(
        `  LOST: ${l.loss.signed} entries were signed (${where}); the log now holds ${l.loss.now}${l.loss.rewritten ? ' that do not extend them' : ''}: ` +
          `Redis lost entries ${l.loss.rewritten ? 'and the log started again' : `${l.loss.now + 1}–${l.loss.signed}`}, or someone removed or rewrote them`,
      );
    }
    const cp = l.checkpoints;
    const latest = cp.latest ? `; latest: ${cp.latest.size} entries, signed by ${cp.latest.signedBy.map(printable).join(', ')}` : '';
    lines.push(
      cp.problems.length === 0
        ? `  checkpoints: OK, ${cp.checked} consistent with the log${cp.beforeTrim ? `, ${cp.beforeTrim} of purged entries (signature checked)` : ''}${latest}`
        : `  checkpoints: ${cp.problems.length} problem(s)${latest}`,
    );
    for (const p of cp.problems) lines.push(`    ${p.kind.toUpperCase()}${p.size !== null ? ` (checkpoint of ${p.size} entries, ${p.source === 'ledger' ? 'kept in the ledger' : printable(p.source)})` : ` (${printable(p.source)})`}: ${printable(p.message)}`);
    lines.push(
      l.records.problem
        ? `  records: BROKEN${l.records.problems > 1 ? ` (${l.records.problems} problems; the first)` : ''}: ${printable(l.records.problem.message)}`
        : `  records: OK, ${l.records.checked} checked against the chain${l.records.unverifiable ? `, ${l.records.unverifiable} older than the chain's start` : ''}`,
    );
  }
  for (const p of report.checkpointProblems) lines.push(`checkpoint ${p.kind.toUpperCase()} (${printable(p.source)}): ${printable(p.message)}`);
  const r = report.recordings;
  if (r) {
    const bad = r.changed.length + r.missing.length + r.unexpected.length;
    lines.push(
      `recordings of server ${printable(r.server)}: ${bad === 0 ? 'OK' : 'PROBLEMS'}, ${r.intact} intact` +
        `${r.expectedMissing.length ? `, ${r.expectedMissing.length} removed on purpose` : ''}${r.waiting ? `, ${r.waiting} waiting for their seal or deletion` : ''}`,
    );
    const list = (label: string, items: { uniqueId: string | null; file: string; message: string }[]) => {
      for (const f of items.slice(0, 200)) lines.push(`  ${label} ${f.uniqueId ? `call ${printable(f.uniqueId)} ` : ''}${printable(f.file)}: ${printable(f.message)}`);
      if (items.length > 200) lines.push(`  … and ${items.length - 200} more ${label.toLowerCase()}`);
    };
    list('CHANGED', r.changed);
    list('MISSING', r.missing);
    list('UNEXPECTED', r.unexpected);
    list('expected missing:', r.expectedMissing);
  }
  const h = report.holds;
  if (h.active > 0 || h.problems.length > 0) {
    lines.push(h.problems.length === 0 ? `legal holds: OK, ${h.active} in force, each as its entry in the log says` : `legal holds: ${h.problems.length} problem(s), ${h.active} in force`);
    for (const p of h.problems) lines.push(`  ${p.kind.toUpperCase()} ${printable(p.hold)}: ${printable(p.message)}`);
  }
  lines.push(report.ok ? 'ledger verified' : 'ledger verification FAILED');
  return `${lines.join('\n')}\n`;
}

export function runVerify(config: Config, opts: VerifyCliOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'verify', async () => {
    const keys = trustedKeys(config, opts.key);
    return withLedgerStore(config, async (store) => {
      const p = progress(io, 'entries checked');
      const report = await verifyLedger(context(config, store, deps, p.tick), {
        keys,
        checkpointFiles: opts.checkpoint ?? [],
        hostCheckpointFile: config.ledger.checkpointFile,
        checkpointIntervalMs: config.ledger.checkpointIntervalMs,
        recordings: opts.recordings ?? false,
        recordingFormat: config.recording.format,
      });
      p.end();
      await out(io.stdout, opts.json ? `${JSON.stringify(report, null, 2)}\n` : verifyText(report));
      return report.ok ? EXIT.ok : EXIT.failure;
    });
  });
}

/** Signs a checkpoint of every log that grew since its last one (needs the signing key). */
async function signAll(config: Config, store: AdminStore, signer: SignerKey, keys: VerifierKey[]): Promise<{ log: string; result: SignResult }[]> {
  const out: { log: string; result: SignResult }[] = [];
  const quiet = createLogger({ level: 'error', format: 'text' }, process.stderr);
  for (const log of await store.logs()) {
    const cp = new Checkpointer(store.forLog(log), signer, {
      intervalMs: config.ledger.checkpointIntervalMs,
      file: config.ledger.checkpointFile,
      clock: systemClock,
      logger: quiet,
      trusted: keys,
    });
    out.push({ log, result: await cp.signNow() });
  }
  return out;
}

export function runCheckpoint(config: Config, opts: { out?: string; sign?: boolean }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'checkpoint', async () => {
    const keys = trustedKeys(config);
    const signer = opts.sign === false ? null : optionalSigner(config);
    return withLedgerStore(config, async (store) => {
      let refused = 0;
      if (signer) {
        for (const { log, result } of await signAll(config, store, signer, keys)) {
          if (result.status === 'skipped') io.stderr.write(`log ${printable(log)}: not signed: ${printable(result.reason)}\n`);
          if (result.status === 'refused') {
            refused += 1;
            io.stderr.write(`log ${printable(log)}: REFUSED to sign: ${printable(result.reason)}\n`);
          }
        }
      }
      const lines: string[] = [];
      for (const log of await store.logs()) {
        const last = await store.forLog(log).latestCheckpoint();
        if (last) lines.push(JSON.stringify({ at: new Date().toISOString(), log, size: last.size, note: last.note }));
      }
      const text = lines.length ? `${lines.join('\n')}\n` : '';
      if (opts.out) {
        writeOutputFile(opts.out, text, 0o644);
        io.stderr.write(`${lines.length} checkpoint(s) written to ${printable(opts.out)}\n`);
      } else await out(io.stdout, text);
      if (lines.length === 0) io.stderr.write('no checkpoint yet (the service signs one while entries are added)\n');
      return refused > 0 ? EXIT.failure : EXIT.ok;
    });
  });
}

export function runEvidence(config: Config, uniqueId: string, opts: { out: string; key?: string[] }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'evidence', async () => {
    const keys = trustedKeys(config, opts.key);
    if (keys.length === 0) throw new UsageError('no public key to check checkpoints with: set ledger.trustedKeyFiles, give --key, or run where the signing key is');
    const signer = optionalSigner(config);
    return withLedgerStore(config, async (store) => {
      const now = (deps.now ?? (() => new Date()))();
      let bundle;
      try {
        bundle = await collectEvidence(store, uniqueId, keys, now);
      } catch (e) {
        // No checkpoint covers the call yet: sign one when this host can, and try once more.
        if (!(e instanceof EvidenceError) || !signer || !/no signed checkpoint/.test(e.message)) throw e;
        await signAll(config, store, signer, keys);
        bundle = await collectEvidence(store, uniqueId, keys, now);
      }
      writeOutputFile(opts.out, `${JSON.stringify(bundle, null, 2)}\n`, 0o640);
      await out(io.stdout, `evidence of call ${printable(uniqueId)} written to ${printable(opts.out)}: ${bundle.entries.length} entries, checkpoint signed by ${printable(bundle.key.name)}\n`);
      return EXIT.ok;
    });
  });
}
export function runConsistency(config: Config, earlier: string, opts: { out: string; key?: string[] }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'consistency', async () => {
    const keys = trustedKeys(config, opts.key);
    const notes = await readCheckpointFile(earlier).catch((e: Error) => {
      throw new UsageError(e.message.replace('--checkpoint', 'checkpoint file'));
    });
    return withLedgerStore(config, async (store) => {
      const proofs = [];
      for (const note of notes) proofs.push(await proveConsistency(store, note, keys));
      writeOutputFile(opts.out, `${JSON.stringify(proofs, null, 2)}\n`, 0o644);
      for (const p of proofs) {
        await out(io.stdout, `log ${printable(p.log)}: the latest checkpoint extends the earlier one (proof of ${p.proof.length} hashes)\n`);
      }
      await out(io.stdout, `written to ${printable(opts.out)}; check it offline with consent-ivr evidence consistency\n`);
      return EXIT.ok;
    });
  });
}

export function registerEvidenceCommands(ledger: Command, getConfig: () => Config, deps: CliDeps): void {
  const io = deps.io ?? processIO;
  subcommand(ledger, 'verify', io)
    .description('walk every log, check it against its signed checkpoints and every record against it; exit 1 on a break')
    .option('--checkpoint <file>', 'also check against checkpoints kept elsewhere (a note, or a checkpoint file); repeatable', collect)
    .option('--key <file>', 'a trusted public key besides ledger.trustedKeyFiles and the signing key; repeatable', collect)
    .option('--recordings', "re-hash this server's recording files and check them against their seals")
    .option('--json', 'print the report as JSON')
    .action(async (o: VerifyCliOptions) => done(await runVerify(getConfig(), o, deps)));

  subcommand(ledger, 'checkpoint', io)
    .description('sign a checkpoint of every log that grew (where the signing key is) and print the latest of each, to keep elsewhere')
    .option('--out <file>', 'write them to this file (JSON Lines) instead of stdout')
    .option('--no-sign', 'only print the latest checkpoints')
    .action(async (o: { out?: string; sign?: boolean }) => done(await runCheckpoint(getConfig(), o, deps)));

  subcommand(ledger, 'consistency', io)
    .description('prove that the latest checkpoints extend earlier ones (an auditor\'s copy): the log only grew since')
    .argument('<earlier-checkpoints>', 'a checkpoint note, or a file written by ledger checkpoint --out')
    .requiredOption('--out <file>', 'the proof file to write')
    .option('--key <file>', 'a trusted public key besides ledger.trustedKeyFiles and the signing key; repeatable', collect)
    .action(async (f: string, o: { out: string; key?: string[] }) => done(await runConsistency(getConfig(), f, o, deps)));

  subcommand(ledger, 'evidence', io)
    .description("write one call's evidence bundle, checkable offline with consent-ivr evidence verify")
    .argument('<uniqueid>')
    .requiredOption('--out <file>', 'the bundle file to write')
    .option('--key <file>', 'a trusted public key besides ledger.trustedKeyFiles and the signing key; repeatable', collect)
    .action(async (id: string, o: { out: string; key?: string[] }) => done(await runEvidence(getConfig(), id, o, deps)));
}
