/** The call slice in the service: the router that gives each call entering Stasis its runner. */
import type { Config } from '../config/schema';
import type { Logger } from '../observability/logger';
import type { CallSource } from '../ports/call-control';
import { ConsentApp } from './consent-app';
import type { RunnerPorts } from './call-runner';

export interface CallWiring {
  config: Config;
  source: CallSource & { on(event: 'connected', fn: () => void): unknown; ownedChannels(): Promise<string[]> };
  ports: RunnerPorts;
  noticeVersion: string;
  log: Logger;
  pseudonymise(number: string): string;
}

export function wireCalls({ config, source, ports, noticeVersion, log, pseudonymise }: CallWiring): ConsentApp {
  const app = new ConsentApp(
    source,
    ports,
    { flow: config.flow, recording: config.recording, promptFolder: config.prompts.folder, noticeVersion, serverId: config.server.id },
    log,
    pseudonymise,
  );
  // Channels in Stasis when ARI (re)connects are reconciled with the runners (ConsentApp.reconcile).
  source.on('connected', () => {
    source
      .ownedChannels()
      .then((ids) => app.reconcile(ids))
      .catch((e: Error) => log.warn('could not list channels to reconcile', { error: e.message }));
  });
  return app;
}
