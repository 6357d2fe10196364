/** Control of one channel in Stasis. Implemented over ARI by adapters/ari. */
import type { Language } from '../domain/vocabulary';

/**
 * A request Asterisk did not answer in time: it may still take effect (a loaded Asterisk plays the
 * prompt late, its PlaybackFinished still comes). Requests reject with an error for which this is
 * true only then; any other rejection is Asterisk's refusal.
 */
export function isUncertain(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { uncertain?: unknown }).uncertain === true;
}

export interface CallControl {
  answer(channelId: string): Promise<void>;
  /** Starts `sound:<name>` in a language; resolves once Asterisk accepted the playback (see isUncertain). */
  play(channelId: string, playbackId: string, sound: string, lang: Language): Promise<void>;
  stopPlayback(playbackId: string): Promise<void>;
  /** Leaves Stasis: at the priority after Stasis(), or at the given place of the dialplan. */
  continueInDialplan(channelId: string, target?: DialplanTarget): Promise<void>;
  /** Reads a channel variable (null when unset). Reading does not restrict the dialplan, unlike setting. */
  getVariable(channelId: string, name: string): Promise<string | null>;
  /**
   * The call a channel belongs to (Asterisk's linkedid, shared by every channel of one call), found
   * by the channel's id or its name, in Stasis or not; null when there is no such channel.
   */
  linkedIdOf(channel: string): Promise<string | null>;
}

export interface DialplanTarget {
  context: string;
  extension: string;
  priority: number;
}

/**
 * inbound: a caller reached the centre (the routine runs on their channel). outbound: the centre
 * dialled a customer, and the routine runs on the called channel inside Dial's U() option.
 */
export type Direction = 'inbound' | 'outbound';

/** What the application learns about a channel when it enters Stasis. */
export interface IncomingCall {
  direction: Direction;
  channelId: string;
  channelName: string;
  /** Whether the channel is already answered. */
  answered: boolean;
  /**
   * Raw number of the person asked for consent (the subject): the caller on inbound calls, the
   * dialled customer on outbound calls. Must be pseudonymised at once and never logged or stored.
   */
  subjectNumber: string;
  /** Inbound: the dialled extension (DID) as the dialplan saw it. Outbound: empty (it is the subject). */
  calledNumber: string;
  /** Outbound: the calling (agent) channel that runs Dial, as Asterisk names it; null otherwise. */
  agentChannel: string | null;
  linkedId: string;
  /** The campaign profile the routine's argument names, exactly as given (null: none given). Never trusted: looked up by name. */
  profile: string | null;
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
