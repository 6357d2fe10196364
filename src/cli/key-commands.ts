/**
 * `consent-ivr keys …` (the checkpoint signing key) and `consent-ivr evidence verify` (an evidence
 * bundle, checked offline: no configuration, no Redis). Exit codes: 0 ok, 1 does not verify, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { fingerprint, formatVerifier, parseSigner, verifierOf, verifyBundle, verifyConsistencyFile, generateKeyFiles, KeyFileError, readVerifierFiles } from '../evidence';
import { printable } from '../ledger';
import { done } from './toolkit';

export interface Out {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const processOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

export function runKeysGenerate(opts: { name?: string; out: string; public?: string }, io: Out = processOut): number {
  const name = opts.name ?? `consent-ivr-${hostname().replace(/[^A-Za-z0-9._-]/g, '-')}`;
  const pub = opts.public ?? `${opts.out}.pub`;
  try {
    const { verifier } = generateKeyFiles(name, opts.out, pub);
    io.stdout(`signing key written to ${opts.out} (mode 0600: keep it on this server, never in Redis)\npublic key written to ${pub}:\n${formatVerifier(verifier)}\nfingerprint ${fingerprint(verifier)}\n`);
    return 0;
  } catch (e) {
    io.stderr(`consent-ivr keys generate: ${printable((e as Error).message)}\n`);
    return e instanceof KeyFileError ? 2 : 1;
  }
}

export function runKeysPublic(file: string, io: Out = processOut): number {
  try {
    const v = verifierOf(parseSigner(readFileSync(file, 'utf8')));
    io.stdout(`${formatVerifier(v)}\n`);
    return 0;
  } catch (e) {
    io.stderr(`consent-ivr keys public: ${file}: ${printable((e as Error).message)}\n`);
    return 2;
  }
}

export function runEvidenceVerify(file: string, keyFile: string, opts: { json?: boolean }, io: Out = processOut): number {
  let keys;
  try {
    keys = readVerifierFiles([keyFile]);
  } catch (e) {
    io.stderr(`consent-ivr evidence verify: --key: ${printable((e as Error).message)}\n`);
    return 2;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    io.stderr(`consent-ivr evidence verify: ${file}: ${code ? `cannot read (${code})` : 'not JSON'}\n`);
    return code ? 2 : 1;
  }
  // A key file may hold several keys (after a rotation): the bundle verifies if one of them checks it.
  const results = keys.map((k) => verifyBundle(raw, k));
  const ok = results.find((r) => r.ok);
  const r = ok ?? results[0];
  if (!r) return 2;
  if (opts.json) io.stdout(`${JSON.stringify(r, null, 2)}\n`);
  else if (r.ok) {
    const b = raw as { uniqueId: string; summary: { fr: string; ar: string } };
    io.stdout(`evidence verified: call ${printable(b.uniqueId)}, checkpoint of ${r.checkpoint?.size ?? '?'} entries signed by ${printable(r.checkpoint?.signedBy ?? '?')}\n\n${b.summary.fr}\n\n${b.summary.ar}\n`);
  } else {
    io.stdout(`evidence does NOT verify:\n${r.problems.map((p) => `  ${printable(p)}`).join('\n')}\n`);
  }
  return r.ok ? 0 : 1;
}

export function runConsistencyVerify(file: string, keyFile: string, io: Out = processOut): number {
  let keys;
  let raw: unknown;
  try {
    keys = readVerifierFiles([keyFile]);
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    io.stderr(`consent-ivr evidence consistency: ${printable((e as Error).message)}\n`);
    return 2;
  }
  const proofs = Array.isArray(raw) ? raw : [raw];
  let bad = proofs.length === 0;
  for (const p of proofs) {
    const r = keys.map((k) => verifyConsistencyFile(p, k)).find((x) => x.ok) ?? verifyConsistencyFile(p, keys[0] as (typeof keys)[number]);
    const log = printable(String((p as { log?: unknown }).log ?? '?'));
    if (r.ok && r.sizes) io.stdout(`log ${log}: consistent: the checkpoint of ${r.sizes[1]} entries extends the one of ${r.sizes[0]}\n`);
    else {
      bad = true;
      io.stdout(`log ${log}: NOT consistent: ${r.problems.map(printable).join('; ')}\n`);
    }
  }
  return bad ? 1 : 0;
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('the Ed25519 key that signs the ledger checkpoints');
  keys
    .command('generate')
    .description('make a signing key (0600) and its public key; never overwrites a key')
    .requiredOption('--out <file>', 'the signing key file to create (e.g. /etc/consent-ivr/ledger-signing-key)')
    .option('--public <file>', 'the public key file to create (default: <out>.pub)')
    .option('--name <name>', 'key name in checkpoints (default: consent-ivr-<host name>)')
    .action((o: { out: string; public?: string; name?: string }) => done(runKeysGenerate(o)));
  keys
    .command('public')
    .description('print the public key of a signing key (to give auditors, or another instance as a trusted key)')
    .argument('<signing-key-file>')
    .action((f: string) => done(runKeysPublic(f)));

  const evidence = program.command('evidence').description('evidence bundles and consistency proofs, checked offline');
  evidence
    .command('consistency')
    .description('check a consistency proof (consent-ivr ledger consistency) offline: the log only grew between two checkpoints')
    .argument('<file>')
    .requiredOption('--key <file>', 'the public key (consent-ivr keys public)')
    .action((f: string, o: { key: string }) => done(runConsistencyVerify(f, o.key)));
  evidence
    .command('verify')
    .description('check a bundle offline with the ledger public key: no configuration, no Redis; exit 1 naming what does not match')
    .argument('<file>')
    .requiredOption('--key <file>', 'the public key (consent-ivr keys public)')
    .option('--json', 'print the result as JSON')
    .action((f: string, o: { key: string; json?: boolean }) => done(runEvidenceVerify(f, o.key, o)));
}
