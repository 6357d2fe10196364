/**
 * `consent-ivr ledger …`: the command group that shows, lists, exports, verifies, erases and purges the
 * consent ledger. Its subcommands are those of records-commands.ts (show, list, export),
 * evidence-commands.ts (verify, checkpoint, consistency, evidence), retention-commands.ts (erase, purge,
 * pending), access-command.ts (access: a person's right of access), hold-commands.ts (hold, release,
 * holds) and loss-command.ts (accept-loss).
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { registerAccessCommand } from './access-command';
import { registerEvidenceCommands } from './evidence-commands';
import { registerHoldCommands } from './hold-commands';
import { registerRecordCommands } from './records-commands';
import { registerRetentionCommands } from './retention-commands';
import { processIO, type CliDeps } from './toolkit';

export function registerLedgerCommands(program: Command, getConfig: () => Config, deps: CliDeps = {}): Command {
  const io = deps.io ?? processIO;
  const ledger = program
    .command('ledger')
    .description('inspect, export, verify, erase, purge and hold the consent ledger (Redis), and give a person access to their data')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  registerRecordCommands(ledger, getConfig, deps);
  registerEvidenceCommands(ledger, getConfig, deps);
  registerRetentionCommands(ledger, getConfig, deps);
  registerAccessCommand(ledger, getConfig, deps);
  registerHoldCommands(ledger, getConfig, deps);
  return ledger;
}
