/**
 * From ARI events to the call-control port's: the Stasis entry of a channel becomes an IncomingCall
 * (with what the dialplan routine passed), the other events the service acts on become CallEvents.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../../observability/logger';
import type { IncomingCall } from '../../ports/call-control';

export interface RawChannel {
  id: string;
  name: string;
  state: string;
  caller?: { number?: string };
  dialplan?: { context?: string; exten?: string };
  linkedid?: string;
}

/**
 * The ARI events the service acts on, by type, emitted on `adapter` as 'call' and 'call-event'. Only
 * these are asked of Asterisk (see AriAdapter's filterEvents): the others (ChannelVarset,
 * ChannelStateChange, PlaybackStarted, ...) would be sent, parsed and dropped for every call.
 */
export function callEvents(adapter: EventEmitter, log: Logger) {
  return {
    StasisStart: (event: { args?: unknown }, channel: RawChannel | undefined) => onStasisStart(adapter, log, event, channel),
    ChannelDtmfReceived: (event: { digit: string }, channel: RawChannel | undefined) => {
      if (channel?.id) adapter.emit('call-event', { type: 'digit', channelId: channel.id, digit: String(event.digit) });
    },
    PlaybackFinished: (_event: unknown, playback: { id: string; state: string } | undefined) => {
      if (playback?.id) adapter.emit('call-event', { type: 'playback-finished', playbackId: playback.id, ok: playback.state !== 'failed' });
    },
    ChannelHangupRequest: (_event: unknown, channel: RawChannel | undefined) => {
      if (channel?.id) adapter.emit('call-event', { type: 'hangup', channelId: channel.id });
    },
    ChannelDestroyed: (_event: unknown, channel: RawChannel | undefined) => {
      if (channel?.id) adapter.emit('call-event', { type: 'hangup', channelId: channel.id });
    },
    StasisEnd: (_event: unknown, channel: RawChannel | undefined) => {
      if (channel?.id) adapter.emit('call-event', { type: 'left-stasis', channelId: channel.id });
    },
  } satisfies Record<string, (event: never, object: never) => unknown>;
}

function onStasisStart(adapter: EventEmitter, log: Logger, event: { args?: unknown }, channel: RawChannel | undefined): void {
  // A StasisStart must name its channel: without one there is no call to run (and nothing to hang up).
  if (!channel || typeof channel.id !== 'string' || typeof channel.name !== 'string') {
    log.warn('ARI StasisStart without a channel; ignored');
    return;
  }
  const args = Array.isArray(event.args) ? event.args.map((a) => String(a)) : [];
  const routine = routineArguments(args, channel);
  if (routine.extra > 0) log.warn('Stasis arguments beyond what the routine passes; ignored (a dialled number with commas?)', { call: channel.id, extra: routine.extra });
  const call: IncomingCall = {
    channelId: channel.id,
    channelName: channel.name,
    answered: channel.state === 'Up',
    direction: routine.direction,
    subjectNumber: routine.subjectNumber,
    calledNumber: routine.calledNumber,
    agentChannel: routine.agentChannel,
    linkedId: channel.linkedid ?? channel.id,
    profile: routine.profile,
    args,
  };
  adapter.emit('call', call);
}

/** The contexts of the routines (dialplans/consent-ivr.conf) that enter Stasis. */
export const INBOUND_ROUTINE = 'consent-ivr';
export const OUTBOUND_ROUTINE = 'consent-ivr-outbound';
/** Channel names as Asterisk makes them (PJSIP/trunk-0000002a, Local/s@ctx-00000001;2). */
const CHANNEL_NAME = /^[A-Za-z0-9_./@;:+-]{1,256}$/;
/** What is kept of the dialled number (what the inbound routine's FILTER() lets through). */
const NOT_IN_NUMBER = /[^-0-9A-Za-z+*#._]/g;
const MAX_NUMBER = 64;
/** The routines pass the campaign profile as `profile:<base64 of the routine's argument>`: no comma can be in it. */
const PROFILE_ARG = /^profile:([A-Za-z0-9+/=]{0,344})$/;
const MAX_PROFILE = 256;

/**
 * The profile an argument names (decoded as given, at most MAX_PROFILE characters), null when none,
 * undefined when the argument is not the routine's profile. One that says `profile:` but is not
 * base64 of a short name (too long, other characters) still names a profile, one that no
 * configuration has: the call goes on unrecorded rather than in the default's name.
 */
function profileArgument(arg: string | undefined): string | null | undefined {
  if (arg === undefined || !arg.startsWith('profile:')) return undefined;
  const m = PROFILE_ARG.exec(arg);
  if (!m) return arg.slice(0, MAX_PROFILE);
  const name = Buffer.from(m[1] ?? '', 'base64').toString('utf8').slice(0, MAX_PROFILE);
  return name === '' ? null : name;
}

/**
 * What the dialplan routines pass to Stasis():
 * - inbound (consent-ivr): the extension the caller dialled, cut at its first comma and filtered;
 * - outbound (consent-ivr-outbound, run by Dial's U() on the called channel): the dialled resource
 *   (DIALEDPEERNUMBER, e.g. "trunk/0612345678" or "0612345678@trunk"), "outbound", and the calling
 *   channel's name;
 * - both then `profile:<base64>`, the campaign profile the routine was given (Gosub's argument,
 *   encoded by BASE64_ENCODE so that whatever it holds is one argument and cannot be mistaken for
 *   another; a filtered number never holds ':'). Routines older than profiles pass none.
 * Stasis() splits its data on commas after the dialplan expanded it, and a SIP user part may hold
 * commas: a caller who dials "0522…,outbound,<channel>" on a dialplan that does not filter adds
 * arguments. So a call is outbound only when it entered Stasis from the outbound routine's context
 * (which the caller does not choose) with exactly its three arguments; anything else is inbound, its
 * called number the first argument only, and `extra` counts the arguments the routine does not pass.
 * On an outbound call the person asked is the one dialled: their number is the subject.
 */
export function routineArguments(
  args: string[],
  channel: Pick<RawChannel, 'caller' | 'dialplan'>,
): Pick<IncomingCall, 'direction' | 'subjectNumber' | 'calledNumber' | 'agentChannel' | 'profile'> & { extra: number } {
  const outboundProfile = profileArgument(args[3]);
  if (channel.dialplan?.context === OUTBOUND_ROUTINE && (args.length === 3 || (args.length === 4 && outboundProfile !== undefined)) && args[1] === 'outbound') {
    const agent = args[2] as string;
    return { direction: 'outbound', subjectNumber: dialledNumber(args[0] ?? ''), calledNumber: '', agentChannel: CHANNEL_NAME.test(agent) ? agent : null, profile: outboundProfile ?? null, extra: 0 };
  }
  const inboundProfile = profileArgument(args[1]);
  const passed = inboundProfile === undefined ? 1 : 2;
  return {
    direction: 'inbound',
    subjectNumber: channel.caller?.number ?? '',
    // The routine passes the number the caller dialled (its own extension is just "s").
    calledNumber: ((args[0] ?? channel.dialplan?.exten ?? '').split(',')[0] ?? '').replace(NOT_IN_NUMBER, '').slice(0, MAX_NUMBER),
    agentChannel: null,
    profile: inboundProfile ?? null,
    extra: Math.max(0, args.length - passed),
  };
}

/** The number in a dial resource: "trunk/0612", "0612@trunk", "sip:+212612@host" → "0612" / "+212612". */
export function dialledNumber(resource: string): string {
  const user = resource.split('@')[0] ?? '';
  const last = user.split('/').pop() ?? '';
  return last.replace(/^(sip|sips|tel):/i, '');
}
