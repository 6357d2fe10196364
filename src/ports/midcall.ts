/**
 * What happens after the consent flow, while the conversation goes on. The dialplan acts on its own
 * (a withdrawal key stops MixMonitor at once, with or without this service) and queues what it did;
 * the service takes the queue into the ledger. Implemented over AMI and AstDB by adapters/ami.
 */
import type { WithdrawnBy } from './ledger';

/** A withdrawal the dialplan carried out and queued. */
export interface QueuedWithdrawal {
  kind: 'withdrawal';
  /** The queue's own key for it (to remove it once stored). */
  key: string;
  /** UNIQUEID of the channel whose consent was withdrawn (the subject's channel). */
  uniqueId: string;
  at: Date;
  by: WithdrawnBy;
}

/** A pause or resume the agent asked for; the dialplan waits for the service to carry it out. */
export interface QueuedPause {
  kind: 'pause' | 'resume';
  key: string;
  uniqueId: string;
  at: Date;
  /** The subject's channel (its MixMonitor is muted), as Asterisk names it. */
  channel: string;
}

export type QueuedAction = QueuedWithdrawal | QueuedPause;

/** The queues the dialplan writes during the conversation. */
export type MidCallQueueName = 'withdrawals' | 'pauses';

export interface MidCallQueue {
  /**
   * Requests waiting; entries that cannot be read (not what the routine writes) are returned apart,
   * with their queue, key and value (as found: not escaped), and never hide the others.
   */
  pending(): Promise<{ items: QueuedAction[]; unreadable: { queue: MidCallQueueName; key: string; value: string }[] }>;
  /** Removes an entry once carried out and stored (or once it can never be). */
  remove(item: QueuedAction): Promise<void>;
  /** Queues a withdrawal made outside the dialplan (the control API), so that it is stored whatever happens next. */
  put(item: QueuedWithdrawal): Promise<void>;
}

/** Variables of a channel outside Stasis, over AMI (never set through ARI, which would restrict its dialplan). */
export interface ChannelVariables {
  set(channel: string, variables: Record<string, string>): Promise<void>;
  /** The variable's value ('' when unset). */
  get(channel: string, name: string): Promise<string>;
}

/** Channels that exist now, found by UNIQUEID (in Stasis or not). */
export interface LiveChannels {
  /** The channel's name as Asterisk knows it, or null when it is gone. */
  nameOf(uniqueId: string): Promise<string | null>;
}

/** Removal of a recording file that this host holds. */
export interface RecordingFiles {
  /** Resolves 'removed', or 'missing' when there was no such file. */
  remove(path: string): Promise<'removed' | 'missing'>;
}
