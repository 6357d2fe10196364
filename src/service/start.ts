/**
 * `consent-ivr start`: wires configuration, logging, the ARI/AMI adapters, the ledger, the call
 * router and the metrics listener, and handles process signals.
 */
import type { Server } from 'node:http';
import { AmiConnection } from '../adapters/ami/ami-connection';
import { AmiChannelVariables, AstDbMidCallQueue, listenApi, AgentActions, MidCallInbox } from '../midcall';
import { AmiRecorder } from '../adapters/ami/recorder';
import { AriAdapter } from '../adapters/ari/ari-adapter';
import { ConfigError } from '../config/load';
import { logIdOf, type Config } from '../config/schema';
import { DAY_MS, pseudonymise } from '../ledger';
import { removeRecording, DeletionWorker } from '../retention';
import { parseSigner, type SignerKey, Checkpointer, readVerifierFiles, inspectRecording, Sealer } from '../evidence';
import type { Ledger } from '../ports/ledger';
import { createLogger, Logger } from '../observability/logger';
import { Metrics } from '../observability/metrics';
import { systemClock } from '../ports/clock';
import { composeObservers, type ServiceObserver } from '../ports/observer';
import { noticeVersion } from '../prompts';
import { ConsentApp } from '../call';
import { createLedger } from './ledger';


const SAFE_DIR = /^(\/[A-Za-z0-9._-]+)+\/?$/;
const AMI_FIRST_CONNECT_MS = 5000;

export interface Service {
  app: ConsentApp;
  stop(): Promise<void>;
}

/**
 * Starts the service. `observer` (tests) is told what happens to calls, besides the metrics.
 */
export async function startService(config: Config, warnings: string[] = [], log: Logger = createLogger(config.logging), observer?: ServiceObserver): Promise<Service> {
  for (const w of warnings) log.warn(w);
  if (!SAFE_DIR.test(config.recording.dir) || config.recording.dir.split('/').includes('..')) {
    throw new ConfigError(`recording.dir: ${config.recording.dir} must be an absolute path of letters, digits, '.', '_' and '-' only`, 'recording.dir');
  }
  const notice = noticeVersion(config);
  if (notice.audioMissing.length > 0) {
    log.warn('some prompt files cannot be read from here; the notice version covers their texts only', { missing: notice.audioMissing.length });
  }

  let signer: SignerKey;
  try {
    signer = parseSigner(config.secrets.signingKey);
  } catch (e) {
    throw new ConfigError(`ledger.signingKeyFile: not a checkpoint signing key (${(e as Error).message}); make one with consent-ivr keys generate`, 'ledger.signingKeyFile');
  }
  const trusted = readVerifierFiles(config.ledger.trustedKeyFiles);

  const ledger = await createLedger(config, log.child({ component: 'ledger' }));
  const saveNotice = () => {
    ledger.evidence.saveNotice(notice.catalogue).catch((e: Error) => log.warn('notice texts not stored yet; will try again', { error: e.message }));
  };
  ledger.onReady(saveNotice);
  // The ledger is evidence: say it loudly when Redis would lose it on a restart.
  ledger.onReady(() => {
    ledger
      .persistence()
      .then((p) => {
        if (!p.aof && p.rdb === false) {
          log.error('Redis keeps nothing across a restart (no AOF, no RDB snapshots): the consent ledger would be lost; set appendonly yes', { component: 'ledger' });
        }
      })
      .catch(() => undefined);
  });

  const ami = new AmiConnection(
    { host: config.ami.host, port: config.ami.port, user: config.ami.user, secret: config.secrets.amiSecret, actionTimeoutMs: config.ami.actionTimeoutMs, events: true },
    log.child({ component: 'ami' }),
  );
  const amiFirst = await Promise.race([
    ami.start().then(() => 'up' as const),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), AMI_FIRST_CONNECT_MS).unref()),
  ]).catch((e: Error) => {
    ledger.close().catch(() => undefined);
    throw new ConfigError(`${e.message} (ami.user / CONSENT_IVR_AMI_SECRET)`, 'ami.user');
  });
  const recorder = new AmiRecorder(ami);
  const variables = new AmiChannelVariables(ami);
  if (amiFirst === 'pending') log.warn('AMI not reachable yet; accepted calls continue unrecorded until it is', { host: config.ami.host, port: config.ami.port });

  const ari = new AriAdapter(
    { url: config.ari.url, user: config.ari.user, password: config.secrets.ariPassword, app: config.ari.app, requestTimeoutMs: config.ari.requestTimeoutMs },
    log.child({ component: 'ari' }),
  );

  // Created before the parts it reads (read only when scraped), so that it observes the calls from the start.
  const metrics: Metrics | null = config.metrics.enabled
    ? new Metrics({
        ari: () => ari.state,
        ami: () => ami.state,
        redis: () => ledger.state(),
        journalBacklog: () => ledger.journalBacklog(),
        activeCalls: () => app.activeCalls,
        appendConflicts: () => durable.appendConflicts(),
        sealBacklog: () => sealer.backlog,
        checkpointRefused: () => checkpointer.health().state === 'refused',
      })
    : null;
  // What the calls and the background work report: to the metrics, and to the caller's observer (tests).
  const observe = composeObservers(metrics, observer);
  const sealer = new Sealer(
    {
      evidence: ledger.evidence,
      ledger: ledger.durable,
      channels: ari,
      files: { inspect: (path) => inspectRecording(path, config.recording.format) },
      clock: systemClock,
    },
    { serverId: config.server.id, log: logIdOf(config), recordingDir: config.recording.dir, pollMs: config.recording.sealPollMs },
    log.child({ component: 'seal' }),
    observe,
  );
  // Every recording started here is sealed once closed.
  const durable = ledger.durable;
  const callLedger: Ledger = {
    recordDecision: (r) => durable.recordDecision(r),
    recordOutcome: (r) => {
      sealer.track(r);
      return durable.recordOutcome(r);
    },
    recordWithdrawal: (r, id) => durable.recordWithdrawal(r, id),
    recordPause: (k, r, id) => durable.recordPause(k, r, id),
    find: (id) => durable.find(id),
  };
  ledger.durable.onRegression((from, to) => observe.ledgerRegressed?.(logIdOf(config), from, to));
  const checkpointer = new Checkpointer(ledger.checkpoints, signer, {
    intervalMs: config.ledger.checkpointIntervalMs,
    file: config.ledger.checkpointFile,
    clock: systemClock,
    logger: log.child({ component: 'checkpoint' }),
    trusted,
    observer: observe,
  });

  const app = new ConsentApp(
    ari,
    { calls: ari, recorder, ledger: callLedger, clock: systemClock, agentChannel: variables, observer: observe },
    {
      flow: config.flow,
      recording: config.recording,
      promptFolder: config.prompts.folder,
      noticeVersion: notice.version,
      serverId: config.server.id,
    },
    log,
    (n) => pseudonymise(n, config.secrets.pseudonymKey),
  );

  const recordingFiles = {
    remove: async (path: string) => {
      const r = await removeRecording(path, config.recording.dir);
      if (!r.ok) throw new Error(r.error);
      return r.deleted ? ('removed' as const) : ('missing' as const);
    },
  };
  const deletions = new DeletionWorker(
    { queue: ledger.deletions, files: recordingFiles, clock: systemClock },
    { serverId: config.server.id, pollMs: config.server.deletionPollMs },
    log.child({ component: 'deletions' }),
    observe,
  );
  const queue = new AstDbMidCallQueue(ami, config.ari.app);
  const midcall = new MidCallInbox(
    {
      queue,
      ledger: ledger.ledger,
      files: recordingFiles,
      recorder,
      clock: systemClock,
    },
    { ...config.withdrawal, giveUpAfterMs: config.ledger.retentionDays * DAY_MS },
    log.child({ component: 'midcall' }),
    {
      observer: observe,
      onRecordingClosed: (uniqueId, reason) => sealer.closed(uniqueId, reason),
    },
  );
  // The dialplan announces what it queued (UserEvent, the only events this AMI user may read).
  ami.on('event', (ev: Record<string, unknown>) => {
    if (String(ev.event) === 'UserEvent' && /^ConsentIvr(Withdrawn|Pause)$/i.test(String(ev.userevent)) && ev.app === config.ari.app) midcall.nudge();
  });

  ari.on('connected', () => {
    ari
      .ownedChannels()
      .then((ids) => app.reconcile(ids))
      .catch((e: Error) => log.warn('could not list channels to reconcile', { error: e.message }));
  });

  let server: Server | null = null;
  if (metrics) {
    server = await metrics.listen(config.metrics.host, config.metrics.port);
    log.info('metrics listening', { host: config.metrics.host, port: metrics.port });
  }

  let api: Server | null = null;
  if (config.api.enabled) {
    const actions = new AgentActions({ ledger: ledger.ledger, channels: ari, variables, recorder, inbox: midcall, queue, clock: systemClock }, log.child({ component: 'api' }));
    api = await listenApi(actions, config.secrets.apiToken, config.api.host, config.api.port, log.child({ component: 'api' }), { maxConnections: config.api.maxConnections });
    const address = api.address();
    log.info('api listening', { host: config.api.host, port: typeof address === 'object' && address ? address.port : config.api.port });
  }

  await ari.start().catch((e: Error) => {
    ami.close();
    server?.close();
    api?.close();
    void ledger.close();
    throw new ConfigError(e.message, 'ari.user');
  });
  midcall.start();
  deletions.start();
  sealer.start();
  checkpointer.start();
  log.info('consent-ivr ready', { app: config.ari.app, server: config.server.id, log: logIdOf(config), noticeVersion: notice.version });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping: no new calls; finishing flows in progress', { calls: app.activeCalls });
      await app.drain(config.flow.shutdownGraceMs);
      await midcall.stop();
      await deletions.stop();
      await sealer.pass();
      await sealer.stop();
      const last = await checkpointer.stop();
      if (last.status === 'signed') log.info('checkpoint signed at shutdown', { size: last.size });
      ari.close();
      ami.close();
      server?.close();
      api?.close();
      await ledger.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { app, stop };
}
