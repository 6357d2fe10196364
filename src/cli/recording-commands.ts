/**
 * `consent-ivr recording …`: protected recordings. `decrypt` gives one call's encrypted recording back
 * as the WAV Asterisk wrote, to whoever holds the controller's private key (an age identity file),
 * after checking the call's record, its seal and its key; an erased or purged call's recording opens
 * for no one. It runs on the server that holds the file.
 */
import type { Command } from 'commander';
import { AgeCli } from '../adapters/age/age-cli';
import type { Config } from '../config/schema';
import { printable } from '../ledger';
import { decryptRecording, DecryptRefused } from '../recordings';
import { withLedgerStore } from '../service/ledger';
import { EXIT, out, processIO, run, subcommand, UsageError, type CliDeps } from './toolkit';

export interface DecryptOptions {
  identity?: string;
  out?: string;
  force?: boolean;
  json?: boolean;
}

export function runDecrypt(config: Config, uniqueId: string, o: DecryptOptions, deps: CliDeps = {}): Promise<number> {
  const io = deps.io ?? processIO;
  return run(
    io,
    'decrypt',
    async () => {
      if (!o.identity) throw new UsageError('--identity FILE is required: the controller\'s age identity (private key), e.g. from age-keygen');
      if (!o.out) throw new UsageError('--out FILE is required: where the WAV goes (created with mode 0600)');
      if (!/^[A-Za-z0-9._-]{1,150}$/.test(uniqueId)) throw new UsageError(`"${printable(uniqueId.slice(0, 80))}" is not a call id (UNIQUEID)`);
      const { identity, out: target } = o;
      return withLedgerStore(config, async (store) => {
        const ctx = { store, serverId: config.server.id, recordingDir: config.recording.dir, cipher: new AgeCli(config.recording.encryption.age) };
        try {
          const d = await decryptRecording(ctx, uniqueId, identity, target, { force: o.force });
          if (o.json) await out(io.stdout, `${JSON.stringify({ ...d, status: 'decrypted' })}\n`);
          else {
            await out(
              io.stdout,
              `decrypted ${d.uniqueId}: ${(d.durationMs / 1000).toFixed(1)} s of audio, ${d.bytes} bytes, to ${printable(d.out)} (mode 0600)\n` +
                `checked against its seal of ${d.sealedAt}: the encrypted file and the plaintext are those sealed (key ${d.keyId})\n`,
            );
          }
          return EXIT.ok;
        } catch (e) {
          if (!(e instanceof DecryptRefused)) throw e;
          if (o.json) await out(io.stdout, `${JSON.stringify({ uniqueId, status: 'refused', reason: e.reason, message: e.message })}\n`);
          io.stderr.write(`consent-ivr recording decrypt: ${printable(e.message)}\n`);
          return EXIT.failure;
        }
      });
    },
    'recording ',
  );
}

export function registerRecordingCommands(program: Command, getConfig: () => Config, deps: CliDeps = {}): Command {
  const io = deps.io ?? processIO;
  const group = program
    .command('recording')
    .description('protected recordings: decrypt one for the controller')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  subcommand(group, 'decrypt', io)
    .description("decrypt a call's recording with the controller's age identity, checked against its seal (on the server that holds it)")
    .argument('<uniqueid>', "the call's id (UNIQUEID)")
    .option('--identity <file>', "the controller's age identity file (private key)")
    .option('--out <file>', 'the WAV to write (mode 0600; refused if it exists)')
    .option('--force', 'replace --out if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (uniqueId: string, o: DecryptOptions) => {
      process.exitCode = await runDecrypt(getConfig(), uniqueId, o, deps);
    });
  return group;
}
