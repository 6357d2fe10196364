/**
 * The campaign profiles the service runs, read from one configuration: each profile's notice
 * version (its texts and audio), and what calls take from them. Made again on a reload; calls in
 * progress keep what they started with.
 */
import { callProfilesOf, type CallProfiles } from '../call';
import { profileSetOf, type ProfileSet } from '../config/profiles';
import type { Config } from '../config/schema';
import type { NoticeCatalogue } from '../ledger';
import { noticeVersion } from '../prompts';

export interface Campaigns {
  set: ProfileSet;
  /** Each profile's notice, by profile name. */
  notices: ReadonlyMap<string, ReturnType<typeof noticeVersion>>;
  calls: CallProfiles;
}

export function campaignsOf(config: Config): Campaigns {
  const set = profileSetOf(config);
  const notices = new Map(set.all.map((p) => [p.name, noticeVersion(p)]));
  const versions = new Map([...notices].map(([name, n]) => [name, n.version]));
  return { set, notices, calls: callProfilesOf(set, versions) };
}

/** The notice catalogues to store, one per profile. */
export function cataloguesOf(c: Campaigns): NoticeCatalogue[] {
  return [...c.notices.values()].map((n) => n.catalogue);
}

/** Each profile's notice version, for the start-up log line. */
export function versionsOf(c: Campaigns): Record<string, string> {
  return Object.fromEntries([...c.notices].map(([name, n]) => [name, n.version]));
}
