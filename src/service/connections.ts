/** The service's links: the ledger over Redis, AMI and ARI, each opened with what it reports at start. */
import { AmiConnection } from '../adapters/ami/ami-connection';
import { AriAdapter } from '../adapters/ari/ari-adapter';
import { MIDCALL_EVENT_FILTER } from '../midcall';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import type { NoticeCatalogue } from '../ledger';
import type { Logger } from '../observability/logger';
import { createLedger } from './ledger';

const AMI_FIRST_CONNECT_MS = 5000;

/** The ledger, storing the notices' texts (those in force: `catalogues`) whenever Redis is ready, and saying loudly when Redis would lose it. */
export async function openLedger(config: Config, log: Logger, catalogues: () => readonly NoticeCatalogue[]): ReturnType<typeof createLedger> {
  const ledger = await createLedger(config, log.child({ component: 'ledger' }));
  ledger.onReady(() => {
    for (const catalogue of catalogues()) {
      ledger.evidence.saveNotice(catalogue).catch((e: Error) => log.warn('notice texts not stored yet; will try again', { profile: catalogue.profile, error: e.message }));
    }
  });
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
  return ledger;
}

/**
 * AMI, waited for a few seconds: refused credentials stop the start (after `onRefused`); an AMI not
 * reachable yet does not (accepted calls continue unrecorded until it is).
 */
export async function connectAmi(config: Config, log: Logger, onRefused: () => void): Promise<AmiConnection> {
  const ami = new AmiConnection(
    { host: config.ami.host, port: config.ami.port, user: config.ami.user, secret: config.secrets.amiSecret, actionTimeoutMs: config.ami.actionTimeoutMs, events: true, eventFilter: MIDCALL_EVENT_FILTER },
    log.child({ component: 'ami' }),
  );
  const first = await Promise.race([
    ami.start().then(() => 'up' as const),
    new Promise<'pending'>((r) => setTimeout(() => r('pending'), AMI_FIRST_CONNECT_MS).unref()),
  ]).catch((e: Error) => {
    onRefused();
    throw new ConfigError(`${e.message} (ami.user / CONSENT_IVR_AMI_SECRET)`, 'ami.user');
  });
  if (first === 'pending') log.warn('AMI not reachable yet; accepted calls continue unrecorded until it is', { host: config.ami.host, port: config.ami.port });
  return ami;
}

export function newAri(config: Config, log: Logger): AriAdapter {
  return new AriAdapter(
    { url: config.ari.url, user: config.ari.user, password: config.secrets.ariPassword, app: config.ari.app, requestTimeoutMs: config.ari.requestTimeoutMs },
    log.child({ component: 'ari' }),
  );
}
