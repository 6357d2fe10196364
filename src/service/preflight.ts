/**
 * What the service checks and reads before it connects to anything: the recording directory's name,
 * the notice version, the checkpoint signing key and the keys it trusts.
 */
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import { parseSigner, readVerifierFiles, type SignerKey, type VerifierKey } from '../evidence';
import type { Logger } from '../observability/logger';
import { noticeVersion } from '../prompts';

const SAFE_DIR = /^(\/[A-Za-z0-9._-]+)+\/?$/;

export interface Preflight {
  notice: ReturnType<typeof noticeVersion>;
  signer: SignerKey;
  trusted: VerifierKey[];
}

export function preflight(config: Config, log: Logger): Preflight {
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
  return { notice, signer, trusted: readVerifierFiles(config.ledger.trustedKeyFiles) };
}
