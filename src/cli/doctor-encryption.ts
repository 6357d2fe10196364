/**
 * `doctor`'s look at protected recordings: each profile's recipients file reads, the age tools run, and
 * a warning for each profile whose recordings stay plain WAV files on this server's disk.
 */
import { AgeCli } from '../adapters/age/age-cli';
import { profileSetOf } from '../config/profiles';
import type { Config } from '../config/schema';
import { readRecipients, RecipientsError } from '../recordings';

export interface EncryptionFinding {
  level: 'error' | 'warning';
  message: string;
}

export async function encryptionFindings(config: Config): Promise<EncryptionFinding[]> {
  const out: EncryptionFinding[] = [];
  const profiles = profileSetOf(config).all;
  const plain = profiles.filter((p) => !p.recipientsFile).map((p) => p.name);
  if (plain.length > 0) {
    out.push({
      level: 'warning',
      message:
        `recordings of ${plain.length === profiles.length ? 'every profile' : `profile(s) ${plain.join(', ')}`} are not encrypted: each is a plain WAV on this disk and in every backup of it ` +
        '(set recording.encryption.recipientsFile to the controller\'s age public keys; docs/admin.md, "Protected recordings")',
    });
  }
  let encrypts = false;
  for (const p of profiles) {
    if (!p.recipientsFile) continue;
    try {
      readRecipients(p.recipientsFile);
      encrypts = true;
    } catch (e) {
      if (!(e instanceof RecipientsError)) throw e;
      out.push({ level: 'error', message: `profile ${p.name}: ${e.message}` });
    }
  }
  if (encrypts) {
    try {
      await new AgeCli(config.recording.encryption.age).newKey();
    } catch (e) {
      out.push({ level: 'error', message: `recording.encryption.age: ${(e as Error).message}` });
    }
  }
  return out;
}
