/**
 * The cost of protecting recordings (run by `npm run bench` after the ledger's benchmark, or alone with
 * `npm run bench:encryption`): recordings of 1, 10 and 120 minutes (8 kHz 16-bit WAV, as MixMonitor
 * writes them) encrypted as the sealer does — a key of their own from age-keygen, wrapped to the
 * controller's recipients, stored in the sandbox's Redis, the file streamed through age into a
 * temporary file, fsync'd and renamed — then decrypted as `recording decrypt` does. Reported: MB/s of
 * plaintext, CPU per minute of audio (this process and the age processes it ran), and how much this
 * process's resident memory grew (a two-hour recording must not sit in memory).
 * Results: a table on stdout and <out>/encryption-<run>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { AgeCli } from '../../src/adapters/age/age-cli';
import { createLogger } from '../../src/observability/logger';
import { systemClock } from '../../src/ports/clock';
import { Protector, parseRecipients, type Keyring } from '../../src/recordings';
import { createLedger } from '../../src/service/ledger';
import { REPO, requireSandbox, testConfig, until } from '../../test/support';
import { dropLedger } from './checks';

const quiet = createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds of this process and of the children it waited for (the age processes), from /proc. */
function cpu(): { self: number; children: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { self: (Number(f[11]) + Number(f[12])) / HZ, children: (Number(f[13]) + Number(f[14])) / HZ };
}

const rssMb = () => process.memoryUsage().rss / 1048576;

interface Row {
  minutes: number;
  mb: number;
  encrypt: { seconds: number; mbPerS: number; cpuMsPerMinute: { service: number; age: number } };
  decrypt: { seconds: number; mbPerS: number };
  rssGrowthMb: number;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({ options: { minutes: { type: 'string', default: '1,10,120' }, out: { type: 'string', default: 'bench-results' } } });
  const sb = await requireSandbox();
  const run = `encryption-${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(sb.stateDir, 'bench-encryption-'));
  const prefix = `bench-${run}:`;
  try {
    const identity = join(dir, 'dpo.key');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    const recipients = parseRecipients(execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }), 'recipients');
    const keyring: Keyring = { of: () => recipients, any: true, keyIds: {} };
    const h = await createLedger(testConfig({ redis: { url: sb.redis.url, keyPrefix: prefix }, ledger: { journalPath: join(dir, 'journal.jsonl') } }, dir), quiet);
    await until(() => h.state() === 'up', 4000, 20);
    const cipher = new AgeCli();
    const protector = new Protector({ keys: h.evidence, cipher, keyring: () => keyring, clock: systemClock }, 'bench');
    const rows: Row[] = [];
    for (const minutes of String(args.minutes).split(',').map(Number)) {
      const wav = join(dir, 'rec', `bench-${minutes}.wav`);
      mkdirSync(join(dir, 'rec'), { recursive: true });
      execFileSync('sox', ['-n', '-r', '8000', '-b', '16', '-c', '1', wav, 'synth', String(minutes * 60), 'sine', '440', 'vol', '0.3']);
      const size = statSync(wav).size;
      const mb = size / 1e6;
      const sha = execFileSync('sha256sum', [wav], { encoding: 'utf8' }).split(' ')[0] ?? '';
      global.gc?.();
      const rss0 = rssMb();
      let peak = rss0;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20);
      const c0 = cpu();
      let t = process.hrtime.bigint();
      const p = await protector.protect({ uniqueId: `bench.${minutes}`, path: wav, profile: null, plaintext: { sha256: sha, size, durationMs: minutes * 60_000 }, relativePath: (x) => x.slice(join(dir, 'rec').length + 1) });
      const encS = Number(process.hrtime.bigint() - t) / 1e9;
      const c1 = cpu();
      if (p === 'erased') throw new Error('unexpected');
      const out = join(dir, `out-${minutes}.wav`);
      t = process.hrtime.bigint();
      const idText = execFileSync('age', ['--decrypt', '-i', identity], { input: (await h.evidence.recordingKey(`bench.${minutes}`) as { wrapped: string }).wrapped, encoding: 'utf8' }).trim();
      execFileSync('age', ['--decrypt', '-i', '-', '-o', out, p.path], { input: `${idText}\n` });
      const decS = Number(process.hrtime.bigint() - t) / 1e9;
      clearInterval(sampler);
      if (execFileSync('sha256sum', [out], { encoding: 'utf8' }).split(' ')[0] !== sha) throw new Error('the decrypted recording differs');
      const perMinute = (s: number) => Math.round(((s * 1000) / minutes) * 10) / 10;
      rows.push({
        minutes,
        mb: Math.round(mb * 10) / 10,
        encrypt: { seconds: Math.round(encS * 1000) / 1000, mbPerS: Math.round(mb / encS), cpuMsPerMinute: { service: perMinute(c1.self - c0.self), age: perMinute(c1.children - c0.children) } },
        decrypt: { seconds: Math.round(decS * 1000) / 1000, mbPerS: Math.round(mb / decS) },
        rssGrowthMb: Math.round((peak - rss0) * 10) / 10,
      });
      rmSync(wav, { force: true });
      rmSync(p.path, { force: true });
      rmSync(out, { force: true });
    }
    await h.close();
    await dropLedger(sb.redis.url, prefix).catch(() => undefined);
    console.log('\nrecording encryption (age, X25519; one key per recording, wrapped to the controller\'s):');
    console.log('  audio    plaintext  encrypt   MB/s   CPU ms per audio minute (service + age)   decrypt  MB/s   RSS growth');
    for (const r of rows) {
      console.log(
        `  ${String(r.minutes).padStart(4)} min ${String(r.mb).padStart(7)} MB ${r.encrypt.seconds.toFixed(3).padStart(7)} s ${String(r.encrypt.mbPerS).padStart(5)}   ${String(r.encrypt.cpuMsPerMinute.service).padStart(6)} + ${String(r.encrypt.cpuMsPerMinute.age).padEnd(27)} ${r.decrypt.seconds.toFixed(3).padStart(7)} s ${String(r.decrypt.mbPerS).padStart(5)} ${String(r.rssGrowthMb).padStart(7)} MB`,
      );
    }
    const outDir = resolve(REPO, String(args.out));
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${run}.json`);
    writeFileSync(file, `${JSON.stringify({ run, rows }, null, 1)}\n`);
    console.log(`encryption bench results: ${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`encryption bench failed: ${e.stack ?? e.message}`);
  process.exit(1);
});
