/**
 * The sandbox (Asterisk 22 in a chroot + Redis, started by `scripts/sandbox.sh up`) as the tests, the
 * benchmark and the demo see it: its coordinates and status (the one producer of `sandbox.sh status`),
 * the Asterisk CLI and ARI, and the staging of the repository's Asterisk configuration and dialplans.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync, chmodSync, renameSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..', ...(__dirname.includes(`${join('dist', 'tools')}`) ? ['..', '..'] : []));

/** scripts/sandbox.env: the fixed coordinates shared with sandbox.sh. */
function envFile(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(resolve(REPO, 'scripts/sandbox.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

/** Where the sandbox keeps its chroot (shared by every checkout) and this checkout's state. */
export function sandboxPaths(env = process.env) {
  const chroot = resolve(env.CONSENT_IVR_SANDBOX_CACHE ?? '/var/cache/consent-ivr', 'chroot');
  const state = resolve(env.CONSENT_IVR_SANDBOX_STATE ?? resolve(REPO, '.sandbox'));
  return {
    chroot,
    state,
    secretsDir: join(state, 'secrets'),
    runDir: join(state, 'run'),
    logDir: join(state, 'logs'),
    recordingsDir: join(state, 'recordings'),
    soundsDir: join(chroot, 'usr/share/asterisk/sounds'),
  };
}

/** What `sandbox.sh status --json` prints, and what every test and the benchmark read. */
export interface SandboxStatus {
  ari: { url: string; user: string; password: string; app: string; running: boolean };
  ami: { host: string; port: number; user: string; secret: string; running: boolean };
  /** A second AMI user with every privilege, for tests only. */
  amiTest: { host: string; port: number; user: string; secret: string };
  /** Where SIP test callers (SIPp) send their INVITEs, and a number that reaches consent-example-inbound. */
  sip: { host: string; port: number; exten: string };
  redis: { url: string; running: boolean; pid: number | null };
  /** The service's control API with config/sandbox.yaml, and its bearer token file. */
  api: { url: string; tokenFile: string };
  recordingsDir: string;
  stateDir: string;
  asteriskRoot: string;
  soundsDir: string;
  asterisk: { running: boolean; pid: number | null; version: string | null };
}

function readSecret(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, name), 'utf8').split('\n')[0]?.trim() ?? '';
  } catch {
    return '';
  }
}

/** The pid in `file` when that process runs, its command is `comm` and (if given) its root is `root`. */
function runningPid(file: string, comm: string, root?: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) return null;
    if (root !== undefined && realpathSync(`/proc/${pid}/root`) !== realpathSync(root)) return null;
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm ? pid : null;
  } catch {
    return null;
  }
}

/** Resolves true when host:port accepts a connection and its first bytes match `expect`. */
function probe(host: string, port: number, send: string | null, expect: RegExp): Promise<boolean> {
  return new Promise((done) => {
    let buf = '';
    const sock = connect({ host, port });
    const end = (ok: boolean) => {
      sock.destroy();
      done(ok);
    };
    sock.setTimeout(1500, () => end(false));
    sock.on('error', () => end(false));
    sock.on('connect', () => send && sock.write(send));
    sock.on('data', (d) => (buf += d.toString()) && expect.test(buf) && end(true));
  });
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Probes ARI, AMI and Redis over the network, so that "running" means "answers", not "has a process". */
export async function sandboxStatus(env = process.env): Promise<SandboxStatus> {
  const c = envFile();
  const p = sandboxPaths(env);
  const redisPort = Number(env.CONSENT_IVR_REDIS_PORT ?? 6379);
  const pid = runningPid(join(p.chroot, 'run/asterisk/asterisk.pid'), 'asterisk', p.chroot);
  const ari = { url: c.ARI_URL as string, user: c.ARI_USER as string, password: readSecret(p.secretsDir, 'ari-password'), app: c.ARI_APP as string };
  const amiHost = c.AMI_HOST as string;
  const amiPort = Number(c.AMI_PORT);
  const redisPid = runningPid(join(p.runDir, 'redis.pid'), 'redis-server');
  const [info, amiUp, redisUp] = await Promise.all([
    pid && ari.password
      ? fetch(`${ari.url}/ari/asterisk/info`, { headers: { authorization: basicAuth(ari.user, ari.password) }, signal: AbortSignal.timeout(2000) })
          .then((r) => (r.ok ? (r.json() as Promise<{ system?: { version?: string } }>) : null))
          .catch(() => null)
      : null,
    pid ? probe(amiHost, amiPort, null, /^Asterisk Call Manager/) : false,
    redisPid ? probe('127.0.0.1', redisPort, 'PING\r\n', /^\+PONG/) : false,
  ]);
  return {
    ari: { ...ari, running: info !== null },
    ami: { host: amiHost, port: amiPort, user: c.AMI_USER as string, secret: readSecret(p.secretsDir, 'ami-secret'), running: amiUp },
    amiTest: { host: amiHost, port: amiPort, user: c.AMI_TEST_USER as string, secret: readSecret(p.secretsDir, 'ami-test-secret') },
    sip: { host: c.SIP_HOST as string, port: Number(c.SIP_PORT), exten: c.SIP_EXTEN as string },
    redis: { url: `redis://127.0.0.1:${redisPort}`, running: redisUp, pid: redisPid },
    api: { url: c.API_URL as string, tokenFile: join(p.secretsDir, 'api-token') },
    recordingsDir: p.recordingsDir,
    stateDir: p.state,
    asteriskRoot: p.chroot,
    soundsDir: p.soundsDir,
    asterisk: { running: pid !== null, pid, version: info?.system?.version ?? null },
  };
}

let current: SandboxStatus | null = null;

/** Probes the sandbox once and keeps its status for `sandbox()`; throws when it is not up. */
export async function requireSandbox(): Promise<SandboxStatus> {
  const s = await sandboxStatus();
  if (!s.ari.running || !s.ami.running || !s.redis.running) {
    throw new Error('the sandbox is not running: run `npm run sandbox:up` (npm test does it)');
  }
  current = s;
  return s;
}

/** The sandbox's status as `requireSandbox()` found it (the e2e set-up calls it before every file). */
export function sandbox(): SandboxStatus {
  if (!current) throw new Error('requireSandbox() has not run');
  return current;
}

/** Runs an Asterisk CLI command in the sandbox's Asterisk. */
export function asteriskCli(command: string): string {
  return execFileSync('chroot', [sandboxPaths().chroot, '/usr/sbin/asterisk', '-rx', command], { encoding: 'utf8', timeout: 60000 });
}

/** Channels currently in the sandbox (`core show channels concise`), one line each. */
export function activeChannels(): string[] {
  return asteriskCli('core show channels concise')
    .split('\n')
    .filter((l) => l.includes('!'));
}

export interface AriApplication {
  channel_ids: string[];
  events_allowed: { type: string }[];
  events_disallowed: { type: string }[];
}

/** A Stasis application as ARI describes it, or null when Asterisk does not know it. */
export async function ariApplication(app: string): Promise<AriApplication | null> {
  const { url, user, password } = sandbox().ari;
  const res = await fetch(`${url}/ari/applications/${encodeURIComponent(app)}`, {
    headers: { authorization: basicAuth(user, password) },
    signal: AbortSignal.timeout(5000),
  });
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`ARI GET /applications/${app}: ${res.status}`);
  return (await res.json()) as AriApplication;
}

/** Channels in a Stasis application, as ARI reports them. */
export async function stasisChannels(app: string): Promise<string[]> {
  return (await ariApplication(app))?.channel_ids ?? [];
}

// ---------------------------------------------------------------------------------------------
// Secrets, voice prompts, the checkpoint signing key

const SECRETS = ['ari-password', 'ami-secret', 'ami-test-secret', 'pseudonym-key', 'api-token'];

/** Generates the sandbox's secrets that do not exist yet (32 random bytes in hex, mode 0600). */
export function ensureSecrets(): void {
  const dir = sandboxPaths().secretsDir;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const name of SECRETS) {
    if (readSecret(dir, name) !== '') continue;
    writeFileSync(join(dir, `${name}.tmp`), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    renameSync(join(dir, `${name}.tmp`), join(dir, name));
    process.stderr.write(`sandbox: generated secret ${join(dir, name)}\n`);
  }
}

/** Runs a command in the repository; throws with its output when it fails. */
function run(what: string, cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed (${cmd} ${args.join(' ')}):\n${r.stdout}${r.stderr}`);
}

/**
 * Builds the service when its sources changed since the last build, then the voice prompts into the
 * chroot's sounds (the product's own `prompts build`), and the checkpoint signing key if there is none
 * (`keys generate`, the product's key format; its public key beside the state, not among the secrets).
 */
export function provision(): void {
  const p = sandboxPaths();
  const main = resolve(REPO, 'dist/cli/main.js');
  const stamp = join(p.runDir, 'build.stamp');
  const newer = (dir: string, since: number): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? newer(join(dir, e.name), since) : statSync(join(dir, e.name)).mtimeMs > since));
  const since = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const started = new Date();
  if (!existsSync(main) || newer(resolve(REPO, 'src'), since) || ['package.json', 'tsconfig.json', 'tsconfig.build.json'].some((f) => statSync(resolve(REPO, f)).mtimeMs > since)) {
    run('the TypeScript build', 'npm', ['run', '--silent', 'build']);
    // Stamped with the start time, so that an edit made during the build triggers another one.
    writeFileSync(stamp, '');
    utimesSync(stamp, started, started);
  }
  process.stderr.write('sandbox: building the voice prompts\n');
  run('building the voice prompts', process.execPath, [main, 'prompts', 'build', '--config', resolve(REPO, 'config/sandbox.yaml'), '--sounds-dir', p.soundsDir]);
  const key = join(p.secretsDir, 'ledger-signing-key');
  if (readSecret(p.secretsDir, 'ledger-signing-key') !== '') return;
  rmSync(join(p.state, 'ledger-signing-key.pub'), { force: true });
  run('generating the checkpoint signing key', process.execPath, [main, 'keys', 'generate', '--out', key, '--public', join(p.state, 'ledger-signing-key.pub'), '--name', 'consent-ivr-sandbox']);
  process.stderr.write(`sandbox: generated the checkpoint signing key ${key}\n`);
}

// ---------------------------------------------------------------------------------------------
// The repository's Asterisk configuration: config/asterisk/*.conf with the secrets filled in,
// and dialplans/ + test/dialplans/ under /etc/asterisk/consent-ivr.d/.

const staged = () => join(sandboxPaths().runDir, 'config.staged');
const loaded = () => join(sandboxPaths().runDir, 'config.loaded');
const drift = () => join(sandboxPaths().runDir, 'config.drift');

/** Debian sample files that only cause noise (users.conf: a deprecation warning on every start). */
const DEBIAN_CONFIGS_DISABLED = ['users.conf'];

function confFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.conf')).sort() : [];
}

function sameTree(a: string, b: string): boolean {
  const fa = confFiles(a);
  return fa.join() === confFiles(b).join() && fa.every((f) => readFileSync(join(a, f)).equals(readFileSync(join(b, f))));
}

function sameFile(a: string, b: string): boolean {
  return existsSync(a) && existsSync(b) && readFileSync(a).equals(readFileSync(b));
}

/**
 * Renders the configuration into the staging folder, notes which files differ from what the shared
 * chroot holds (another checkout may have installed its own), and installs it into the chroot.
 */
export function stageConfig(): void {
  const p = sandboxPaths();
  const values: Record<string, string> = {
    ARI_PASSWORD: readSecret(p.secretsDir, 'ari-password'),
    AMI_SECRET: readSecret(p.secretsDir, 'ami-secret'),
    AMI_TEST_SECRET: readSecret(p.secretsDir, 'ami-test-secret'),
    RECORDINGS_DIR: p.recordingsDir,
  };
  for (const [k, v] of Object.entries(values)) if (v === '') throw new Error(`${k}: the sandbox secret is missing (run sandbox.sh up)`);
  rmSync(staged(), { recursive: true, force: true });
  mkdirSync(join(staged(), 'etc'), { recursive: true, mode: 0o700 });
  mkdirSync(join(staged(), 'consent-ivr.d'));
  const sources = confFiles(resolve(REPO, 'config/asterisk'));
  if (sources.length === 0) throw new Error(`no Asterisk configuration in ${REPO}/config/asterisk/`);
  for (const name of sources) {
    const text = readFileSync(resolve(REPO, 'config/asterisk', name), 'utf8').replace(/@([A-Z_]+)@/g, (m, k: string) => {
      if (values[k] === undefined) throw new Error(`config/asterisk/${name} has an unknown placeholder: ${m}`);
      return values[k] as string;
    });
    writeFileSync(join(staged(), 'etc', name), text);
  }
  for (const dir of ['dialplans', 'test/dialplans']) {
    for (const name of confFiles(resolve(REPO, dir))) {
      const to = join(staged(), 'consent-ivr.d', name);
      if (existsSync(to)) throw new Error(`two dialplan files are both named ${name} (dialplans/ and test/dialplans/): rename one`);
      cpSync(resolve(REPO, dir, name), to);
    }
  }
  const etc = join(p.chroot, 'etc/asterisk');
  const changed = confFiles(join(staged(), 'etc')).filter((n) => !sameFile(join(staged(), 'etc', n), join(etc, n)));
  if (!sameTree(join(staged(), 'consent-ivr.d'), join(etc, 'consent-ivr.d'))) changed.push('dialplans');
  writeFileSync(drift(), changed.map((n) => `${n}\n`).join(''));
  for (const n of confFiles(join(staged(), 'etc'))) {
    cpSync(join(staged(), 'etc', n), join(etc, n));
    chmodSync(join(etc, n), 0o640);
  }
  for (const n of DEBIAN_CONFIGS_DISABLED) {
    if (existsSync(join(etc, n)) && !existsSync(join(staged(), 'etc', n))) renameSync(join(etc, n), join(etc, `${n}.disabled-by-consent-ivr-sandbox`));
  }
  rmSync(join(etc, 'consent-ivr.d'), { recursive: true, force: true });
  cpSync(join(staged(), 'consent-ivr.d'), join(etc, 'consent-ivr.d'), { recursive: true });
}

/** The CLI command that loads a changed file; RESTART when only a restart can. */
const RELOAD: Record<string, string> = {
  'extensions.conf': 'dialplan reload',
  'users.conf': 'dialplan reload',
  dialplans: 'dialplan reload',
  'ari.conf': 'module reload res_ari.so',
  'manager.conf': 'manager reload',
  'http.conf': 'module reload http',
  'logger.conf': 'logger reload',
  'pjsip.conf': 'module reload res_pjsip.so',
  'rtp.conf': 'module reload res_rtp_asterisk.so',
  'musiconhold.conf': 'moh reload',
  'features.conf': 'module reload features',
  'modules.conf': 'RESTART',
  'asterisk.conf': 'RESTART',
};

/**
 * The reload commands that bring the running Asterisk (pid) from the loaded configuration to the
 * staged one. When this checkout did not load what it runs, every reload but no restart.
 */
export function reloadPlan(pid: number, everything = false): string[] {
  const stagedEtc = confFiles(join(staged(), 'etc'));
  let changed: string[];
  if (everything || readSecret(loaded(), 'asterisk.pid') !== String(pid)) {
    changed = [...stagedEtc.filter((n) => RELOAD[n] !== 'RESTART'), 'dialplans'];
  } else {
    const names = new Set([...stagedEtc, ...confFiles(join(loaded(), 'etc'))]);
    changed = [...names].filter((n) => !sameFile(join(staged(), 'etc', n), join(loaded(), 'etc', n)));
    if (!sameTree(join(staged(), 'consent-ivr.d'), join(loaded(), 'consent-ivr.d'))) changed.push('dialplans');
    if (existsSync(drift())) changed.push(...readFileSync(drift(), 'utf8').split('\n').filter(Boolean));
  }
  return [...new Set(changed.map((n) => RELOAD[n] ?? 'reload'))].sort();
}

/** Remembers what the running Asterisk (pid) has loaded. */
export function recordLoaded(pid: number): void {
  rmSync(loaded(), { recursive: true, force: true });
  cpSync(staged(), loaded(), { recursive: true });
  writeFileSync(join(loaded(), 'asterisk.pid'), `${pid}\n`);
}
