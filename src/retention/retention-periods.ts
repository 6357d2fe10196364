/**
 * How long each campaign profile's records are kept, turned into the cutoffs of one purge: a record is
 * past its retention when it was entered before its profile's cutoff. A record that names no profile
 * (made before profiles) is the default profile's; one whose profile is no longer in the configuration
 * gets the default's retention too, and the purge says so.
 */
import { DEFAULT_PROFILE } from '../domain/vocabulary';
import { DAY_MS, type AdminContext } from '../ledger';

export interface ProfileCutoff {
  profile: string;
  /** False for a profile that records name but the configuration does not have (the default's retention applies). */
  configured: boolean;
  retentionDays: number;
  /** Records entered before this time (ms) are past their retention. */
  cutoffMs: number;
}

export class RetentionCutoffs {
  private readonly byName = new Map<string, ProfileCutoff>();
  private readonly defaultCutoff: ProfileCutoff;

  constructor(ctx: AdminContext) {
    const nowMs = ctx.now().getTime();
    const cutoff = (profile: string, days: number): ProfileCutoff => ({ profile, configured: true, retentionDays: days, cutoffMs: nowMs - days * DAY_MS });
    this.defaultCutoff = cutoff(DEFAULT_PROFILE, ctx.retentionDays);
    this.byName.set(DEFAULT_PROFILE, this.defaultCutoff);
    for (const [name, days] of Object.entries(ctx.profileRetention ?? {})) {
      if (name !== DEFAULT_PROFILE) this.byName.set(name, cutoff(name, days));
    }
  }

  /** The configured profiles' cutoffs, the default first. */
  get configured(): ProfileCutoff[] {
    return [...this.byName.values()].filter((c) => c.configured);
  }

  /** The cutoff of a record's profile (null: made before profiles, the default's). */
  of(profile: string | null): ProfileCutoff {
    const name = profile ?? DEFAULT_PROFILE;
    let c = this.byName.get(name);
    if (!c) {
      c = { ...this.defaultCutoff, profile: name, configured: false };
      this.byName.set(name, c);
    }
    return c;
  }

  /** Before this time every record is past its retention, whatever its profile (the longest retention's cutoff). */
  get earliestMs(): number {
    return Math.min(...this.configured.map((c) => c.cutoffMs));
  }

  /** From this time on no record is past its retention (the shortest retention's cutoff). */
  get latestMs(): number {
    return Math.max(...this.configured.map((c) => c.cutoffMs));
  }
}
