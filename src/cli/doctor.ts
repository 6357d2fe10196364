/**
 * `consent-ivr doctor`: what an administrator runs before going live and after every change. One line
 * per problem, exit 1 if any. It checks, with the configured credentials, everything the service
 * needs from Asterisk, Redis and this host, without changing anything.
 */
import { execFile } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { AmiConnection } from '../adapters/ami/ami-connection';
import { AmiProbe } from '../adapters/ami/probe';
import { MAX_SOCKETS } from '../adapters/ari/ari-adapter';
import { AriProbe } from '../adapters/ari/probe';
import { closeClient, connectOnce, createRedisClient, describeTarget, persistence, RedisLedgerStore, redisTimeMs, type RedisClient } from '../adapters/redis';
import { profileSetOf } from '../config/profiles';
import { logIdOf, type Config } from '../config/schema';
import { SERVER_ID, SYSTEM_NAME, systemNameOf } from '../domain/vocabulary';
import { parseSigner, Checkpointer, readVerifierFiles } from '../evidence';
import { parseStoredRecord } from '../ledger';
import { systemClock } from '../ports/clock';
import { createLogger } from '../observability/logger';
import { noticeVersion, promptAudioProbe } from '../prompts';
import { encryptionFindings } from './doctor-encryption';
import { checkConfig } from './check-config';

export interface DoctorFinding {
  check: string;
  level: 'error' | 'warning';
  message: string;
}

export interface DoctorReport {
  /** Checks that found nothing wrong. */
  passed: string[];
  findings: DoctorFinding[];
}

/** Asterisk modules the service and its dialplan routines rely on, and what for. */
export const REQUIRED_MODULES: Record<string, string> = {
  'res_ari.so': 'ARI',
  'res_http_websocket.so': "ARI's event websocket",
  'res_stasis.so': 'Stasis (the consent flow)',
  'app_stasis.so': 'Stasis() in the routine',
  'res_ari_channels.so': 'answering and continuing channels',
  'res_ari_playbacks.so': 'playing the notice',
  'res_stasis_playback.so': 'playing the notice',
  'res_ari_applications.so': 'the application subscription',
  'res_ari_asterisk.so': 'doctor and the reconnection checks',
  'app_mixmonitor.so': 'recording (MixMonitor)',
  'func_db.so': 'the withdrawal queue (DB)',
  'app_userevent.so': 'telling the service about withdrawals (UserEvent)',
  'func_cdr.so': 'the CDR consent field',
  'app_stack.so': 'the routines (Gosub, LOCAL)',
  'func_logic.so': 'the routines (IF)',
  'func_strings.so': 'the routines (STRFTIME)',
  'func_cut.so': 'the routines (CUT)',
  'func_channel.so': 'the routines (CHANNEL)',
  'app_exec.so': 'the routines (ExecIf)',
  'app_playback.so': 'the withdrawal confirmation',
  'res_musiconhold.so': 'what the other party hears during a withdrawal',
};

/** The AMI actions the service sends. */
export const REQUIRED_ACTIONS = ['MixMonitor', 'StopMixMonitor', 'MixMonitorMute', 'Setvar', 'Getvar', 'DBGetTree', 'DBPut', 'DBDel'];

/** Routines (dialplan contexts) that must be loaded, with their first extension. */
export const ROUTINES = ['consent-ivr,s,1', 'consent-ivr-outbound,s,1', 'consent-ivr-withdraw,s,1'];

const run = promisify(execFile);

/** A logger for the adapters doctor uses: their problems are reported as findings instead. */
const silent = () => createLogger({ level: 'error', format: 'json' }, new Writable({ write: (_c, _e, cb) => cb() }));

class Doctor {
  readonly report: DoctorReport = { passed: [], findings: [] };

  problem(check: string, message: string, level: DoctorFinding['level'] = 'error'): void {
    this.report.findings.push({ check, level, message });
  }

  /** Runs a check; it passed when it reported no error. */
  async check(name: string, fn: () => Promise<void>): Promise<void> {
    const before = this.report.findings.filter((f) => f.level === 'error').length;
    try {
      await fn();
    } catch (e) {
      this.problem(name, `could not be checked: ${(e as Error).message}`);
    }
    if (this.report.findings.filter((f) => f.level === 'error').length === before) this.report.passed.push(name);
  }
}

export async function diagnose(config: Config, loadWarnings: string[] = []): Promise<DoctorReport> {
  const d = new Doctor();
  await d.check('config', async () => {
    for (const w of loadWarnings) d.problem('config', w, 'warning');
    for (const f of checkConfig(config, promptAudioProbe(config.prompts.soundsDir))) d.problem('config', `${f.key}: ${f.message}`, f.level);
  });
  await ariChecks(d, config);
  const systemName = await amiChecks(d, config);
  await d.check('prompts', async () => promptsCheck(d, config));
  await d.check('recordings', () => recordingsCheck(d, config));
  await d.check('encryption', async () => {
    for (const f of await encryptionFindings(config)) d.problem('encryption', f.message, f.level);
  });
  await redisChecks(d, config, systemName);
  return d.report;
}

/** ARI answers with the configured credentials, and runs the modules the service needs. */
async function ariChecks(d: Doctor, config: Config): Promise<void> {
  const { ari } = config;
  const probe = new AriProbe(ari.url, ari.user, config.secrets.ariPassword, ari.requestTimeoutMs);
  let ariUp = false;
  await d.check('ari', async () => {
    const v = await probe.version();
    if (v.ok) ariUp = true;
    else if (v.status === 401) d.problem('ari', `ARI refuses user ${ari.user} at ${ari.url}: wrong ari.user or password (ari.passwordFile / CONSENT_IVR_ARI_PASSWORD; ari.conf)`);
    else d.problem('ari', `ARI not reachable at ${ari.url}: ${v.error} (http.conf enabled, bindaddr, port; ari.conf enabled)`);
  });

  await d.check('modules', async () => {
    if (!ariUp) return d.problem('modules', 'not checked: ARI does not answer');
    const mods = await probe.runningModules();
    if (!mods.ok) return d.problem('modules', `cannot list Asterisk's modules: ${mods.error}`);
    for (const [m, why] of Object.entries(REQUIRED_MODULES)) {
      if (!mods.value.has(m)) d.problem('modules', `Asterisk module ${m} is not running: needed for ${why} (modules.conf: load => ${m})`);
    }
  });
}

/**
 * What is checked through AMI: the login and the actions the service sends, the routines, http.conf.
 * Resolves with this Asterisk's asterisk.conf systemname ('' when unset), or null when AMI did not tell.
 */
async function amiChecks(d: Doctor, config: Config): Promise<string | null> {
  const { ami } = config;
  const conn = new AmiConnection(
    { host: ami.host, port: ami.port, user: ami.user, secret: config.secrets.amiSecret, actionTimeoutMs: ami.actionTimeoutMs, events: false },
    silent(),
  );
  try {
    const probe = await amiLogin(d, config, conn);
    await d.check('routine', async () => {
      if (!probe) return d.problem('routine', 'not checked: AMI does not answer');
      for (const r of ROUTINES) {
        const v = await probe.evaluate(`DIALPLAN_EXISTS(${r})`);
        if (v !== '1') d.problem('routine', `${r} is not in Asterisk's loaded dialplan: #include dialplans/consent-ivr.conf from extensions.conf, then "dialplan reload"`);
      }
    });
    await d.check('http', () => httpCheck(d, probe));
    return probe ? await probe.evaluate('SYSTEMNAME').catch(() => null) : null;
  } finally {
    conn.close();
  }
}

/** The 'ami' check: AMI lets the configured user in, and send the actions the service sends. The probe once logged in, else null. */
async function amiLogin(d: Doctor, config: Config, conn: AmiConnection): Promise<AmiProbe | null> {
  const { ami } = config;
  let probe: AmiProbe | null = null;
  await d.check('ami', async () => {
    const started = await Promise.race([
      conn.start().then(
        () => 'up' as const,
        (e: Error) => e.message,
      ),
      new Promise<string>((r) => setTimeout(() => r(`no answer within ${ami.actionTimeoutMs} ms`), ami.actionTimeoutMs).unref()),
    ]);
    if (started !== 'up') {
      d.problem(
        'ami',
        /auth|login|secret|denied|fail/i.test(started)
          ? `AMI refuses user ${ami.user}: wrong ami.user or secret (ami.secretFile / CONSENT_IVR_AMI_SECRET; manager.conf) — ${started}`
          : `AMI not reachable at ${ami.host}:${ami.port}: ${started} (manager.conf enabled, bindaddr, port)`,
      );
      return;
    }
    probe = new AmiProbe(conn);
    const allowed = await probe.permittedActions();
    const missing = REQUIRED_ACTIONS.filter((a) => !allowed.has(a.toLowerCase()));
    if (missing.length > 0) d.problem('ami', `AMI user ${ami.user} may not send ${missing.join(', ')}: manager.conf needs write = system,call (and read = user)`);
  });
  return probe;
}

/** http.conf's sessionlimit leaves room for the ARI requests the service has in flight. */
async function httpCheck(d: Doctor, probe: AmiProbe | null): Promise<void> {
  if (!probe) return d.problem('http', 'not checked: AMI does not answer (http.conf is read through it)');
  let limit: string | null;
  try {
    limit = await probe.configValue('http.conf', 'general', 'sessionlimit');
  } catch (e) {
    d.problem('http', `cannot read http.conf through AMI (${(e as Error).message}); check sessionlimit by hand`, 'warning');
    return;
  }
  const value = limit === null ? 100 : Number(limit);
  if (!(value >= MAX_SOCKETS + 2)) {
    d.problem('http', `http.conf sessionlimit is ${limit ?? '100 (the default)'}: the service has up to ${MAX_SOCKETS} ARI requests in flight; set sessionlimit = 1000 under [general]`);
  }
}

function promptsCheck(d: Doctor, config: Config): void {
  for (const profile of profileSetOf(config).all) {
    const { audioMissing } = noticeVersion(profile);
    for (const f of audioMissing) d.problem('prompts', `profile ${profile.name}: prompt missing or unreadable: ${f} (consent-ivr prompts build, or prompts import a studio recording)`);
  }
}

/** recording.dir exists, this user can read and delete in it, and Asterisk can write in it. */
async function recordingsCheck(d: Doctor, config: Config): Promise<void> {
  const dir = config.recording.dir;
  const st = await fsp.stat(dir).catch(() => null);
  if (!st?.isDirectory()) return d.problem('recordings', `recording.dir ${dir} does not exist (create it: owner asterisk, group consent-ivr, mode 2770)`);
  try {
    await fsp.access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    d.problem('recordings', `recording.dir ${dir}: this user cannot read and delete in it (the seal, erase and purge need to); add the user to its group, mode 2770`);
  }
  const asterisk = await asteriskIds();
  if (asterisk && !writableBy(st, asterisk)) d.problem('recordings', `recording.dir ${dir} is not writable by the asterisk user (uid ${asterisk.uid}): MixMonitor cannot write`);
}

/** What is checked through Redis: that it answers and persists, then the clock, the system names of the ledger's servers and this host's checkpoints. */
async function redisChecks(d: Doctor, config: Config, systemName: string | null): Promise<void> {
  const { redis } = config;
  await d.check('redis', async () => {
    const client = createRedisClient(redis, silent(), {
      role: 'cli',
      lazy: true,
    });
    client.on('error', () => undefined);
    try {
      try {
        await connectOnce(client, redis.connectTimeoutMs);
      } catch (e) {
        return d.problem('redis', `Redis not reachable (${describeTarget(redis)}): ${(e as Error).message}`);
      }
      const p = await persistence(client);
      if (!p.aof && p.rdb === false) {
        d.problem('redis', 'Redis keeps nothing across a restart (no AOF, no RDB snapshots): the ledger is evidence; set appendonly yes (appendfsync everysec)');
      } else if (!p.aof && p.rdb === null) {
        d.problem('redis', 'Redis has no AOF and does not say whether it takes RDB snapshots (CONFIG refused): make sure it persists', 'warning');
      }
      await d.check('clock', () => clockCheck(d, client));
      await d.check('systemname', async () => {
        const servers = await ledgerServers(client, config);
        for (const f of systemNameFindings(config.server.id, systemName, servers)) d.problem('systemname', f.message, f.level);
      });
      // This host's log against what this host signed (its checkpoint file): what the service's
      // checkpointer checks before it signs. Only where the signing key is.
      if (config.secrets.signingKey.trim()) await d.check('checkpoints', () => checkpointsCheck(d, client, config));
    } finally {
      await closeClient(client);
    }
  });
}

async function checkpointsCheck(d: Doctor, client: RedisClient, config: Config): Promise<void> {
  const store = new RedisLedgerStore(client, config.redis.keyPrefix, logIdOf(config));
  const cp = new Checkpointer(store, parseSigner(config.secrets.signingKey), {
    intervalMs: config.ledger.checkpointIntervalMs,
    file: config.ledger.checkpointFile,
    clock: systemClock,
    logger: silent(),
    trusted: readVerifierFiles(config.ledger.trustedKeyFiles),
  });
  const h = await cp.check();
  if (h.state === 'refused') {
    d.problem('checkpoints', `the log is not a consistent extension of what this host signed, so the service does not sign it: ${h.reason}; run consent-ivr ledger verify (docs/ledger.md, threat model)`);
  }
}

/** What the ledger's recent records say of one server (by their recordingServer): its newest record's UNIQUEID. */
export interface ServerSeen {
  /** enteredAt (ms) of the newest record of the server in the sample. */
  newestMs: number;
  /** Whether that record's UNIQUEID carries a system name. */
  named: boolean;
}

/** Records looked at per log: those entered in the last week, at most this many. */
const SAMPLE_DAYS = 7;
const SAMPLE_MAX = 5000;

/**
 * The servers whose calls are in this ledger, from the recent records of every log: a record of a
 * recorded call names its server (recordingServer, that server's server.id), and its key is the
 * channel's UNIQUEID, which carries that Asterisk's systemname when it has one.
 */
async function ledgerServers(client: RedisClient, config: Config): Promise<Map<string, ServerSeen>> {
  const store = new RedisLedgerStore(client, config.redis.keyPrefix, logIdOf(config));
  const servers = new Map<string, ServerSeen>();
  const from = Date.now() - SAMPLE_DAYS * 86_400_000;
  for (const log of await store.logs()) {
    let seen = 0;
    for await (const rows of store.forLog(log).recordsByTime(from, Infinity, 500)) {
      for (const row of rows) {
        let server: string | null;
        let ms: number;
        try {
          const rec = parseStoredRecord(row.json);
          server = rec.recording?.file?.server ?? null;
          ms = Date.parse(rec.enteredAt);
        } catch {
          continue; // ledger verify reports records that cannot be read
        }
        if (!server || !SERVER_ID.test(server) || !Number.isFinite(ms)) continue;
        const before = servers.get(server);
        if (!before || ms >= before.newestMs) servers.set(server, { newestMs: ms, named: Boolean(systemNameOf(row.uniqueId)) });
      }
      seen += rows.length;
      if (seen >= SAMPLE_MAX) break;
    }
  }
  return servers;
}

/**
 * Asterisk's systemname against the servers that share the ledger. A UNIQUEID is unique on one Asterisk
 * only: without a system name two servers make the same ones, and one call's record, recording and
 * queue entries would take another's place. So: this Asterisk's name must be one the service accepts
 * (an error otherwise: its calls' UNIQUEIDs would be refused), and a ledger with the records of more
 * than one server gets a warning while any of them (this one included) makes UNIQUEIDs without one.
 */
export function systemNameFindings(thisServer: string, systemName: string | null, servers: ReadonlyMap<string, ServerSeen>): { level: 'error' | 'warning'; message: string }[] {
  const out: { level: 'error' | 'warning'; message: string }[] = [];
  if (systemName && !SYSTEM_NAME.test(systemName)) {
    out.push({
      level: 'error',
      message: `asterisk.conf systemname ${JSON.stringify(systemName)} is not one the service accepts in a UNIQUEID (a letter or digit, then letters, digits, '.', '_', '-'; at most 64): rename it (e.g. to server.id ${thisServer}) and restart Asterisk`,
    });
  }
  const all = new Set([...servers.keys(), thisServer]);
  if (all.size < 2) return out;
  const bare = [...servers].filter(([s, v]) => !v.named && !(s === thisServer && systemName)).map(([s]) => s);
  if (systemName === '' && !bare.includes(thisServer)) bare.push(thisServer);
  if (bare.length > 0) {
    out.push({
      level: 'warning',
      message:
        `this ledger holds the calls of several servers (${[...all].sort().join(', ')}) and ${bare.sort().join(', ')} make${bare.length === 1 ? 's' : ''} UNIQUEIDs without a system name: ` +
        'two servers can then give two calls the same UNIQUEID, and one record would replace the other; set systemname (asterisk.conf [options], e.g. its server.id) on every Asterisk of this ledger and restart it (docs/admin.md, several servers)',
    });
  }
  return out;
}

/** The clock is synchronised (timestamps are evidence): timedatectl where there is one, and agrees with Redis's. */
async function clockCheck(d: Doctor, client: Parameters<typeof redisTimeMs>[0]): Promise<void> {
  const sync = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3000 }).then(
    (r) => r.stdout.trim(),
    () => null,
  );
  if (sync === 'no') d.problem('clock', 'the system clock is not synchronised (timedatectl: NTPSynchronized=no): the ledger\'s timestamps are evidence; enable systemd-timesyncd or chrony');
  const t0 = Date.now();
  const redisMs = await redisTimeMs(client);
  const offset = redisMs - (t0 + Date.now()) / 2;
  if (Math.abs(offset) > 1000) d.problem('clock', `this host's clock is ${Math.round(offset)} ms off Redis's: synchronise both (NTP)`);
}

async function asteriskIds(): Promise<{ uid: number; gid: number } | null> {
  const passwd = await fsp.readFile('/etc/passwd', 'utf8').catch(() => '');
  const line = passwd.split('\n').find((l) => l.startsWith('asterisk:'));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function writableBy(st: { uid: number; gid: number; mode: number }, who: { uid: number; gid: number }): boolean {
  if (who.uid === 0) return true;
  if (st.uid === who.uid) return (st.mode & 0o200) !== 0;
  if (st.gid === who.gid) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}

/** Prints the report: one line per problem, then what passed; exit 1 if any error. */
export function printDoctor(report: DoctorReport, out: (s: string) => void, json = false): number {
  const errors = report.findings.filter((f) => f.level === 'error').length;
  if (json) out(`${JSON.stringify({ ok: errors === 0, ...report }, null, 2)}\n`);
  else {
    for (const f of report.findings) out(`${f.level === 'error' ? 'PROBLEM' : 'warning'} ${f.check}: ${f.message}\n`);
    out(`doctor: ${report.passed.length} check(s) passed (${report.passed.join(', ')}); ${errors} problem(s)${errors ? '' : ' — ready'}\n`);
  }
  return errors > 0 ? 1 : 0;
}
