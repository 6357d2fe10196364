/**
 * RecordingCipher over the age command-line tools (age, age-keygen: the format's reference
 * implementation, packaged by Debian as `age`). Recordings stream through `age` and never sit whole in
 * memory; identities travel on standard input only, never on a command line or in a file.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AGE_RECIPIENT as RECIPIENT, CipherError, type DataKey, type RecordingCipher } from '../../ports/cipher';

const IDENTITY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

/** Longest stderr kept from a run: age's messages are one or two lines. */
const MAX_STDERR = 2000;

function errorOf(tool: string, stderr: string, code: number | null): CipherError {
  const text = stderr
    .split('\n')
    .map((l) => l.replace(/^age(-keygen)?: (error: )?/, '').replace(/[;:]?\s*report unexpected.*$/i, '').trim())
    .filter((l) => l && !l.startsWith('[') && !/report this|github\.com/i.test(l))
    .join('; ');
  if (/no identity matched/i.test(text)) return new CipherError('the identity given is not one this was encrypted to', 'no-match');
  if (/failed to read header|header|malformed|unexpected EOF|failed to decrypt|stream/i.test(text)) return new CipherError(`not a valid age file, or damaged: ${text}`, 'damaged');
  if (/identit/i.test(text)) return new CipherError(`the identity cannot be read: ${text}`, 'identity');
  return new CipherError(`${tool} failed (exit ${code ?? 'signal'}): ${text || 'no message'}`, 'tool');
}

export class AgeCli implements RecordingCipher {
  private readonly keygen: string;

  /** `age`: the age program (a name on PATH or a path); age-keygen is taken from the same folder. */
  constructor(private readonly age = 'age') {
    this.keygen = age.includes('/') ? join(dirname(age), 'age-keygen') : 'age-keygen';
  }

  /** Runs a tool with `input` on its standard input and its standard output into `output` (else collected). */
  private run(cmd: string, args: string[], input: NodeJS.ReadableStream | string, output?: NodeJS.WritableStream): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      let failed: Error | null = null;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (c: string) => {
        if (stderr.length < MAX_STDERR) stderr += c;
      });
      child.on('error', (e: NodeJS.ErrnoException) => {
        failed = e.code === 'ENOENT' ? new CipherError(`${cmd} is not installed (install Debian's age package, or set recording.encryption.age)`, 'tool') : e;
      });
      const feeding =
        typeof input === 'string'
          ? new Promise<void>((r) => {
              child.stdin.on('error', () => r()); // the tool exited before reading it all: its exit code says why
              child.stdin.end(input, () => r());
            })
          : pipeline(input, child.stdin).catch((e: NodeJS.ErrnoException) => {
              if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_PREMATURE_CLOSE') failed ??= e;
            });
      let draining: Promise<void>;
      if (output) {
        draining = pipeline(child.stdout, output).catch((e: Error) => {
          failed ??= e;
        });
      } else {
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => (stdout += c));
        draining = new Promise((r) => child.stdout.on('close', () => r()));
      }
      child.on('close', (code) => {
        void Promise.all([feeding, draining]).then(() => {
          if (failed) return reject(failed);
          if (code !== 0) return reject(errorOf(cmd, stderr, code));
          resolve(stdout);
        });
      });
    });
  }

  async newKey(): Promise<DataKey> {
    const out = await this.run(this.keygen, [], '');
    const identity = out.split('\n').find((l) => IDENTITY.test(l.trim()))?.trim();
    const recipient = /# public key: (age1\S+)/.exec(out)?.[1];
    if (!identity || !recipient || !RECIPIENT.test(recipient)) throw new CipherError('age-keygen printed no key', 'tool');
    return { identity, recipient };
  }

  async wrap(identity: string, recipients: readonly string[]): Promise<string> {
    if (recipients.length === 0) throw new CipherError('no recipient to encrypt to', 'tool');
    return this.run(this.age, ['--encrypt', '--armor', ...recipients.flatMap((r) => ['-r', r])], `${identity}\n`);
  }

  async unwrap(wrapped: string, identityFile: string): Promise<string> {
    const out = await this.run(this.age, ['--decrypt', '-i', identityFile], wrapped);
    const identity = out.trim();
    if (!IDENTITY.test(identity)) throw new CipherError('the wrapped key does not hold a recording key', 'damaged');
    return identity;
  }

  async recipientOf(identity: string): Promise<string> {
    const out = (await this.run(this.keygen, ['-y'], `${identity}\n`)).trim();
    if (!RECIPIENT.test(out)) throw new CipherError('age-keygen -y printed no recipient', 'tool');
    return out;
  }

  async encrypt(recipient: string, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
    if (!RECIPIENT.test(recipient)) throw new CipherError('not an age recipient', 'tool');
    await this.run(this.age, ['--encrypt', '-r', recipient], input, output);
  }

  async decrypt(identity: string, path: string, output: NodeJS.WritableStream): Promise<void> {
    // The identity on standard input (-i -); the file by name.
    await this.run(this.age, ['--decrypt', '-i', '-', '--', path], `${identity}\n`, output);
  }
}

