/**
 * The production install, as an administrator does it: the systemd units verify; the packed tarball
 * installs with `npm install -g` into a prefix and its CLI runs there; and the service, started by
 * its unit file's command line as its own (unprivileged) user with a production-style configuration
 * (its paths under a temporary root, secrets as systemd credentials), handles a call of the sandbox.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { placeCall, sandbox, TestAmi, until, ledgerRecord } from '../support';

const REPO = resolve(__dirname, '../..');
const UNITS = join(REPO, 'config', 'systemd');
/** An unprivileged uid and gid with no entry in /etc/passwd: the service's own user. */
const UID = 64_321;

let work: string;
let prefix: string;

beforeAll(() => {
  sandbox();
  work = mkdtempSync(join(tmpdir(), 'civr-install-'));
  chmodSync(work, 0o755);
  prefix = join(work, 'prefix');
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `Key=value` lines of a unit's [Service] section (a key may repeat). */
function serviceLines(unit: string, key: string): string[] {
  const text = readFileSync(join(UNITS, unit), 'utf8');
  const service = text.slice(text.indexOf('[Service]'), text.indexOf('[Install]') > 0 ? text.indexOf('[Install]') : undefined);
  return service
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

test('When the units are checked by systemd-analyze verify, then they are clean', () => {
  const r = spawnSync('systemd-analyze', ['verify', ...['consent-ivr.service', 'consent-ivr-purge.service', 'consent-ivr-purge.timer'].map((u) => join(UNITS, u))], { encoding: 'utf8' });
  expect(r.stderr.trim()).toBe('');
  expect(r.status).toBe(0);
  expect(serviceLines('consent-ivr.service', 'User')).toEqual(['consent-ivr']);
  expect(serviceLines('consent-ivr.service', 'Restart')).toEqual(['on-failure']);
  expect(serviceLines('consent-ivr.service', 'KillSignal')).toEqual(['SIGTERM']);
  // The same hardening as the purge.
  for (const key of ['NoNewPrivileges', 'ProtectSystem', 'PrivateTmp', 'RestrictAddressFamilies', 'SystemCallArchitectures']) {
    expect({ key, value: serviceLines('consent-ivr.service', key) }).toEqual({ key, value: serviceLines('consent-ivr-purge.service', key) });
  }
});

test('When the package is packed and installed with npm install -g into a prefix, then its CLI runs from there: --help and check-config', () => {
  const out = join(work, 'pack');
  mkdirSync(out);
  execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: REPO, stdio: 'pipe' });
  const [tarball] = readdirSync(out).filter((f) => f.endsWith('.tgz'));
  expect(tarball).toMatch(/^consent-ivr-\d+\.\d+\.\d+\.tgz$/);
  const listing = execFileSync('tar', ['-tzf', join(out, tarball as string)], { encoding: 'utf8' }).split('\n');
  for (const f of ['package/dist/cli/main.js', 'package/dialplans/consent-ivr.conf', 'package/config/consent-ivr.yaml', 'package/config/systemd/consent-ivr.service', 'package/docs/admin.md']) {
    expect(listing).toContain(f);
  }
  expect(listing.filter((f) => f.includes('sandbox') || f.includes('/bench/') || f.includes('/tools/') || f.startsWith('package/test/') || f.startsWith('package/src/'))).toEqual([]);
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(out, tarball as string)], { stdio: 'pipe', timeout: 240_000 });
  const bin = join(prefix, 'bin', 'consent-ivr');
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8', cwd: work, env: { PATH: process.env.PATH ?? '' } });
  expect(help.status).toBe(0);
  for (const c of ['start', 'doctor', 'check-config', 'ledger', 'keys', 'evidence']) expect(help.stdout).toContain(c);
  // Installed, it reads /etc/consent-ivr/ by default, not a checkout's sandbox.
  expect(help.stdout).toContain('/etc/consent-ivr/consent-ivr.yaml');
  const shipped = join(prefix, 'lib', 'node_modules', 'consent-ivr', 'config', 'consent-ivr.yaml');
  const env = { PATH: process.env.PATH ?? '', CONSENT_IVR_ARI_PASSWORD: 'x', CONSENT_IVR_AMI_SECRET: 'x', CONSENT_IVR_PSEUDONYM_KEY: 'x'.repeat(32), CONSENT_IVR_API_TOKEN: 'x', CONSENT_IVR_LEDGER_SIGNING_KEY: 'x' };
  const check = spawnSync(bin, ['check-config', '--config', shipped, '--json'], { encoding: 'utf8', cwd: work, env });
  const findings = JSON.parse(check.stdout) as { key: string; message: string }[];
  // The shipped sample legal values must be replaced before going live; a bad key is named.
  expect(findings).toContainEqual(expect.objectContaining({ key: 'legal.controller', message: 'still the sample value shipped with consent-ivr' }));
  expect(findings).toContainEqual(expect.objectContaining({ key: 'ledger.signingKeyFile' }));
  expect(check.status).toBe(1);
}, 300_000);

test('When the service is started by its unit\'s command line, as its own user, with a production-style configuration, then it handles a call', async () => {
  const root = join(work, 'root');
  const etc = join(root, 'etc', 'consent-ivr');
  const state = join(root, 'var', 'lib', 'consent-ivr');
  const creds = join(root, 'run', 'credentials', 'consent-ivr.service');
  const recordings = mkdtempSync(join(sandbox().recordingsDir, 'installed-'));
  for (const d of [etc, state, creds]) mkdirSync(d, { recursive: true });
  const app = `civr-installed-${process.pid}`;
  writeFileSync(
    join(etc, 'consent-ivr.yaml'),
    readFileSync(join(REPO, 'config', 'consent-ivr.yaml'), 'utf8')
      .replace(/\/var\/lib\/consent-ivr/g, state)
      .replace(/\/etc\/consent-ivr/g, etc)
      .replace('/var/spool/asterisk/recording/consent-ivr', recordings)
      .replace('soundsDir: /usr/share/asterisk/sounds', `soundsDir: ${sandbox().soundsDir}`),
  );
  // What systemd does with LoadCredential=: copies each secret into the credentials directory.
  const secrets = join(sandbox().stateDir, 'secrets');
  for (const line of serviceLines('consent-ivr.service', 'LoadCredential')) {
    const [name, source] = line.split(':') as [string, string];
    expect(source).toBe(`/etc/consent-ivr/${name}`);
    copyFileSync(join(secrets, name), join(creds, name));
  }
  for (const d of [root, join(root, 'etc'), etc, join(root, 'var'), join(root, 'var', 'lib'), state, join(root, 'run'), join(root, 'run', 'credentials'), creds, recordings]) {
    chownSync(d, UID, UID);
  }
  for (const f of readdirSync(creds)) {
    chownSync(join(creds, f), UID, UID);
    chmodSync(join(creds, f), 0o400);
  }
  chownSync(join(etc, 'consent-ivr.yaml'), UID, UID);

  const [execStart] = serviceLines('consent-ivr.service', 'ExecStart');
  expect(execStart).toBe('/usr/bin/env consent-ivr start');
  const env = Object.fromEntries(serviceLines('consent-ivr.service', 'Environment').map((l) => l.split('=', 2) as [string, string]));
  expect(env.CONSENT_IVR_CONFIG).toBe('/etc/consent-ivr/consent-ivr.yaml');
  const argv = (execStart as string).split(' ');
  const proc = spawn('setpriv', [`--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', '--', ...argv], {
    cwd: '/',
    env: {
      PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`,
      // The unit's configuration path, moved under the temporary root.
      CONSENT_IVR_CONFIG: join(etc, 'consent-ivr.yaml'),
      CREDENTIALS_DIRECTORY: creds,
      CONSENT_IVR_ARI_APP: app,
      CONSENT_IVR_METRICS_PORT: '0',
      CONSENT_IVR_API_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const ami = new TestAmi();
  try {
    await until(() => output.includes('consent-ivr ready'), 30000, 200);
    expect(output).toContain('consent-ivr ready');
    await ami.start();
    const call = await placeCall(ami, { app, w1: 1.5, k1: '2', talk: 8 });
    const result = await call.result;
    expect(result).toMatchObject({ result: 'refused' });
    const record = await ledgerRecord(String(result.id));
    expect(record).toMatchObject({ outcome: 'refused', digit: '2' });
    // Its state went where the configuration says, owned by its user.
    expect(readdirSync(join(state, 'journal'))).toContain('ledger.jsonl');
  } finally {
    ami.close();
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    writeFileSync(join(sandbox().stateDir, 'logs', 'app-installed.log'), output);
  }
  expect(output).not.toMatch(/EACCES|permission denied/i);
}, 120_000);
