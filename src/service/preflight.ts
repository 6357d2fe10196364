/**
 * What the service checks and reads before it connects to anything: the recording directory's name,
 * each profile's notice version, the checkpoint signing key and the keys it trusts.
 */
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import { parseSigner, readVerifierFiles, type SignerKey, type VerifierKey } from '../evidence';
import type { Logger } from '../observability/logger';
import { campaignsOf, type Campaigns } from './profiles';

const SAFE_DIR = /^(\/[A-Za-z0-9._-]+)+\/?$/;

export interface Preflight {
  campaigns: Campaigns;
  signer: SignerKey;
  trusted: VerifierKey[];
}

export function preflight(config: Config, log: Logger): Preflight {
  if (!SAFE_DIR.test(config.recording.dir) || config.recording.dir.split('/').includes('..')) {
    throw new ConfigError(`recording.dir: ${config.recording.dir} must be an absolute path of letters, digits, '.', '_' and '-' only`, 'recording.dir');
  }
  const campaigns = campaignsOf(config);
  for (const [profile, notice] of campaigns.notices) {
    if (notice.audioMissing.length > 0) {
      log.warn('some prompt files cannot be read from here; the notice version covers their texts only', { profile, missing: notice.audioMissing.length });
    }
  }
  let signer: SignerKey;
  try {
    signer = parseSigner(config.secrets.signingKey);
  } catch (e) {
    throw new ConfigError(`ledger.signingKeyFile: not a checkpoint signing key (${(e as Error).message}); make one with consent-ivr keys generate`, 'ledger.signingKeyFile');
  }
  return { campaigns, signer, trusted: readVerifierFiles(config.ledger.trustedKeyFiles) };
}
