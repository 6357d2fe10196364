/**
 * Whose key each call's recording is encrypted to: the recipients file of the call's campaign profile
 * (profiles.<name>.recording.encryption, else the top level's), read once at start-up and at each
 * reload. A profile with none is not encrypted.
 */
import { profileSetOf } from '../config/profiles';
import type { Config } from '../config/schema';
import { readRecipients, type Recipients } from './recipients';

export interface Keyring {
  /** The recipients of a profile's recordings (a profile no longer configured: the default's); null: not encrypted. */
  of(profile: string | null | undefined): Recipients | null;
  /** True when some profile's recordings are encrypted. */
  readonly any: boolean;
  /** Each profile's key id (null: not encrypted), for the log and `doctor`. */
  readonly keyIds: Record<string, string | null>;
}

/** Reads every profile's recipients file; throws RecipientsError naming the file and the profile. */
export function keyringOf(config: Config): Keyring {
  const byProfile = new Map<string, Recipients | null>();
  const byFile = new Map<string, Recipients>();
  const set = profileSetOf(config);
  for (const p of set.all) {
    const file = p.recipientsFile;
    if (!file) {
      byProfile.set(p.name, null);
      continue;
    }
    let r = byFile.get(file);
    if (!r) {
      r = readRecipients(file);
      byFile.set(file, r);
    }
    byProfile.set(p.name, r);
  }
  const fallback = byProfile.get(set.default.name) ?? null;
  return {
    of: (profile) => (profile && byProfile.has(profile) ? (byProfile.get(profile) ?? null) : fallback),
    any: [...byProfile.values()].some((r) => r !== null),
    keyIds: Object.fromEntries([...byProfile].map(([name, r]) => [name, r?.keyId ?? null])),
  };
}
