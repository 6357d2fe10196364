/**
 * `consent-ivr ledger accept-loss --reason TEXT [--log L]`: after Redis lost entries that had been
 * signed (or someone rewrote them), the checkpointer refuses to sign the log. Once the loss is
 * understood — and what could be restored was restored — an administrator records it: a `loss` entry
 * in the log (when, how many entries had been signed, how many the log holds, why), then a checkpoint
 * of the log as it is, marked as a loss, from which signing goes on. Needs the signing key and this
 * host's checkpoint file. The loss stays visible: `ledger verify` prints it, and copies of earlier
 * checkpoints kept elsewhere still show the log does not extend them.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { withLedgerStore } from '../service/ledger';
import type { Config } from '../config/schema';
import { ChainAppender, printable } from '../ledger';
import { Checkpointer } from '../evidence';
import type { EventBody } from '../ledger';
import { createLogger } from '../observability/logger';
import { systemClock } from '../ports/clock';
import { EXIT, optionalSigner, out, processIO, run, trustedKeys, UsageError, type CliDeps } from './toolkit';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function runAcceptLoss(config: Config, opts: { reason?: string; log?: string }, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(io, 'accept-loss', async () => {
    const reason = (opts.reason ?? '').trim();
    if (reason.length < 10 || reason.length > 500 || CONTROL.test(reason)) throw new UsageError('--reason: say what was lost and why, in 10 to 500 characters on one line');
    const signer = optionalSigner(config);
    if (!signer) throw new UsageError('accept-loss signs a checkpoint: run it where the signing key is (ledger.signingKeyFile)');
    return withLedgerStore(config, async (store) => {
      const log = store.forLog(opts.log ?? store.log);
      const checkpointer = new Checkpointer(log, signer, {
        intervalMs: config.ledger.checkpointIntervalMs,
        file: config.ledger.checkpointFile,
        clock: deps.now ? { ...systemClock, now: deps.now } : systemClock,
        logger: createLogger({ level: 'error', format: 'text' }, process.stderr),
        trusted: trustedKeys(config),
      });
      const h = await checkpointer.check();
      if (h.state !== 'refused') {
        await out(io.stdout, `log ${printable(log.log)} extends what was signed: there is no loss to accept\n`);
        return EXIT.failure;
      }
      const held = (await log.head()).seq;
      const body: EventBody = { type: 'loss', at: (deps.now?.() ?? new Date()).toISOString(), signed: h.signedSize, held, reason };
      await new ChainAppender(log).submit({ eventId: randomUUID(), body: JSON.stringify(body), record: null }).done;
      const r = await checkpointer.acceptLoss();
      await out(
        io.stdout,
        `log ${printable(log.log)}: loss accepted: ${r.signed} entries had been signed, the log held ${held} that do not extend them; ` +
          `signed a checkpoint of its ${r.size} entries, marked as a loss (${printable(config.ledger.checkpointFile)}): signing goes on from there\n`,
      );
      return EXIT.ok;
    });
  });
}

export function registerAcceptLoss(ledger: Command, getConfig: () => Config, deps: CliDeps, done: (code: number) => void): void {
  ledger
    .command('accept-loss')
    .description('record that the log lost signed entries (Redis lost them, or they were rewritten) and go on signing from the log as it is')
    .requiredOption('--reason <text>', 'what was lost and why (kept in the log)')
    .option('--log <name>', "the log (default: this host's, ledger.log)")
    .exitOverride()
    .action(async (o: { reason: string; log?: string }) => done(await runAcceptLoss(getConfig(), o, deps)));
}
