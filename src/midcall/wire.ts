/**
 * The mid-call slice in the service: the inbox that carries out what the dialplan queued in AstDB
 * (withdrawals, pauses), nudged by the dialplan's user events, and the control API for agents.
 */
import type { Server } from 'node:http';
import type { AmiConnection } from '../adapters/ami/ami-connection';
import { longestRetentionDays, type ProfileSet } from '../config/profiles';
import type { Config } from '../config/schema';
import { DAY_MS } from '../ledger';
import type { Logger } from '../observability/logger';
import { systemClock } from '../ports/clock';
import type { Ledger } from '../ports/ledger';
import type { ChannelVariables, LiveChannels, RecordingFiles } from '../ports/midcall';
import type { ServiceObserver } from '../ports/observer';
import type { Recorder } from '../ports/recorder';
import { AgentActions } from './agent-actions';
import { AstDbMidCallQueue } from './astdb-queue';
import { listenApi } from './control-api';
import { MidCallInbox } from './inbox';

/** The AMI events the inbox listens for (matched by Asterisk against each event's text): the dialplan's nudges. */
export const MIDCALL_EVENT_FILTER = 'UserEvent: ConsentIvr(Withdrawn|Pause)';
const NUDGE = /^ConsentIvr(Withdrawn|Pause)$/i;

export interface MidCallWiring {
  config: Config;
  /** The campaign profiles in force (they change on a reload). */
  profiles: () => ProfileSet;
  ami: AmiConnection;
  channels: LiveChannels;
  variables: ChannelVariables;
  recorder: Recorder;
  ledger: Ledger;
  files: RecordingFiles;
  log: Logger;
  observe: ServiceObserver;
  onRecordingClosed(uniqueId: string, reason: 'withdrawal' | 'stop'): void;
}

export interface MidCallPart {
  /** Starts the control API's listener (when enabled); null when it is off. */
  listen(): Promise<Server | null>;
  start(): void;
  /** Stops the inbox (after its current run). */
  stop(): Promise<void>;
  /** Closes the control API's listener. */
  close(): void;
}

export function wireMidCall(w: MidCallWiring): MidCallPart {
  const { config, log } = w;
  const queue = new AstDbMidCallQueue(w.ami, config.ari.app);
  const inbox = new MidCallInbox(
    { queue, ledger: w.ledger, files: w.files, recorder: w.recorder, clock: systemClock },
    {
      ...config.withdrawal,
      partialRecordingOf: (profile) => w.profiles().of(profile)?.withdrawal.partialRecording ?? config.withdrawal.partialRecording,
      giveUpAfterMs: longestRetentionDays(config) * DAY_MS,
    },
    log.child({ component: 'midcall' }),
    { observer: w.observe, onRecordingClosed: w.onRecordingClosed },
  );
  // The dialplan announces what it queued (UserEvent, the only events this AMI user may read).
  w.ami.on('event', (ev: Record<string, unknown>) => {
    if (String(ev.event) === 'UserEvent' && NUDGE.test(String(ev.userevent)) && ev.app === config.ari.app) inbox.nudge();
  });
  let api: Server | null = null;
  return {
    listen: async () => {
      if (!config.api.enabled) return null;
      const apiLog = log.child({ component: 'api' });
      const actions = new AgentActions({ ledger: w.ledger, channels: w.channels, variables: w.variables, recorder: w.recorder, inbox, queue, clock: systemClock }, apiLog);
      api = await listenApi(actions, config.secrets.apiToken, config.api.host, config.api.port, apiLog, { maxConnections: config.api.maxConnections });
      const address = api.address();
      log.info('api listening', { host: config.api.host, port: typeof address === 'object' && address ? address.port : config.api.port });
      return api;
    },
    start: () => inbox.start(),
    stop: () => inbox.stop(),
    close: () => api?.close(),
  };
}
