/** Control of one channel in Stasis. Implemented over ARI by adapters/ari. */
import type { Language } from '../config/schema';

export interface CallControl {
  answer(channelId: string): Promise<void>;
  /** Starts `sound:<name>` in a language; resolves once Asterisk accepted the playback. */
  play(channelId: string, playbackId: string, sound: string, lang: Language): Promise<void>;
  stopPlayback(playbackId: string): Promise<void>;
  /** Leaves Stasis: at the priority after Stasis(), or at the given place of the dialplan. */
  continueInDialplan(channelId: string, target?: DialplanTarget): Promise<void>;
  /** Reads a channel variable (null when unset). Reading does not restrict the dialplan, unlike setting. */
  getVariable(channelId: string, name: string): Promise<string | null>;
}

export interface DialplanTarget {
  context: string;
  extension: string;
  priority: number;
}

/** What the application learns about a channel when it enters Stasis. */
export interface IncomingCall {
  channelId: string;
  channelName: string;
  /** Whether the channel is already answered. */
  answered: boolean;
  /** Raw caller number: must be pseudonymised at once and never logged or stored. */
  callerNumber: string;
  /** The dialled extension (DID) as the dialplan saw it. */
  calledNumber: string;
  linkedId: string;
  /** Stasis() arguments. */
  args: string[];
}

/** Events from Asterisk about calls, routed by channel id. */
export type CallEvent =
  | { type: 'digit'; channelId: string; digit: string }
  | { type: 'playback-finished'; playbackId: string; ok: boolean }
  | { type: 'hangup'; channelId: string }
  | { type: 'left-stasis'; channelId: string };

/** Where calls and their events come from. */
export interface CallSource {
  onCall(handler: (call: IncomingCall) => void): void;
  onEvent(handler: (event: CallEvent) => void): void;
}
