/**
 * What happens after the consent flow, while the conversation goes on. The dialplan acts on its own
 * (a withdrawal key stops MixMonitor at once, with or without this service) and queues what it did;
 * the service takes the queue into the ledger. Implemented over AMI and AstDB by adapters/ami.
 */
import type { WithdrawnBy } from './ledger';

/** A withdrawal the dialplan carried out and queued. */
export interface QueuedWithdrawal {
  /** The queue's own key for it (to remove it once stored). */
  key: string;
  /** UNIQUEID of the channel whose consent was withdrawn (the subject's channel). */
  uniqueId: string;
  at: Date;
  by: WithdrawnBy;
}

export interface WithdrawalQueue {
  /** Withdrawals waiting to be stored; entries that cannot be read are reported, not returned. */
  pending(): Promise<{ items: QueuedWithdrawal[]; unreadable: string[] }>;
  /** Removes an entry once its withdrawal is stored (or can never be). */
  remove(key: string): Promise<void>;
}

/** Sets variables on a channel outside Stasis (never through ARI, which would restrict its dialplan). */
export interface ChannelVariables {
  set(channel: string, variables: Record<string, string>): Promise<void>;
}

/** Removal of a recording file that this host holds. */
export interface RecordingFiles {
  /** Resolves 'removed', or 'missing' when there was no such file. */
  remove(path: string): Promise<'removed' | 'missing'>;
}
