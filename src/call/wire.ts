/** The call slice in the service: the router that gives each call entering Stasis its runner, in its campaign profile. */
import type { ProfileSet } from '../config/profiles';
import type { Config } from '../config/schema';
import type { Logger } from '../observability/logger';
import type { CallSource } from '../ports/call-control';
import { ConsentApp, type CallProfiles } from './consent-app';
import type { CallProfile, RunnerPorts } from './call-runner';

export interface CallWiring {
  config: Config;
  source: CallSource & { on(event: 'connected', fn: () => void): unknown; ownedChannels(): Promise<string[]> };
  ports: RunnerPorts;
  /** The profiles and, for each, the version of its notice (prompts/build.ts noticeVersion). */
  profiles: CallProfiles;
  log: Logger;
  pseudonymise(number: string): string;
}

/** What calls take from a configuration's profiles: each profile's flow, prompts and notice version. */
export function callProfilesOf(set: ProfileSet, noticeVersions: ReadonlyMap<string, string>): CallProfiles {
  const byName = new Map<string, CallProfile>(
    set.all.map((p) => [p.name, { name: p.name, flow: p.flow, promptFolder: p.prompts.folder, noticeVersion: noticeVersions.get(p.name) ?? '' }]),
  );
  return {
    choose(argument, dialled) {
      const choice = set.choose(argument, dialled);
      if (choice.profile === null) return choice;
      return { profile: byName.get(choice.profile.name) as CallProfile, by: choice.by };
    },
  };
}

export function wireCalls({ config, source, ports, profiles, log, pseudonymise }: CallWiring): ConsentApp {
  const app = new ConsentApp(source, ports, { recording: config.recording, serverId: config.server.id }, profiles, log, pseudonymise);
  // Channels in Stasis when ARI (re)connects are reconciled with the runners (ConsentApp.reconcile).
  source.on('connected', () => {
    source
      .ownedChannels()
      .then((ids) => app.reconcile(ids))
      .catch((e: Error) => log.warn('could not list channels to reconcile', { error: e.message }));
  });
  return app;
}
