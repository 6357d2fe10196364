/**
 * MixMonitor over AMI. The MixMonitor File field is comma-split by Asterisk
 * into file, options and a shell command, so file names and options are held to a strict set of
 * characters here, whatever the caller of this adapter passes.
 */
import type { Recorder, RecordingRequest } from '../../ports/recorder';
import { AmiConnection, AmiError } from './ami-connection';

/** Absolute path made only of safe segments: no comma, quote, space, '..' or control character. */
const SAFE_PATH = /^(\/[A-Za-z0-9._-]+)+$/;
const SAFE_OPTIONS = /^[A-Za-z0-9()]*$/;
/** Channel names come from Asterisk (e.g. PJSIP/trunk-0000002a, Local/s@ctx-00000001;2). */
export const SAFE_CHANNEL = /^[A-Za-z0-9_./@;:+-]+$/;

/** Channel variable that holds the recording's MixMonitor id (for an admin's StopMixMonitor). */
export const MIXMONITOR_ID_VARIABLE = 'CONSENT_MIXMONITOR_ID';

export function assertSafeRecording(req: RecordingRequest): void {
  if (!SAFE_PATH.test(req.file) || req.file.split('/').some((seg) => seg === '.' || seg === '..')) {
    throw new AmiError('recording file name is outside the allowed character set');
  }
  if (!SAFE_OPTIONS.test(req.options)) throw new AmiError('MixMonitor options are outside the allowed character set');
  if (!SAFE_CHANNEL.test(req.channel)) throw new AmiError('channel name is outside the allowed character set');
}

export class AmiRecorder implements Recorder {
  constructor(private readonly ami: AmiConnection) {}

  async start(req: RecordingRequest): Promise<{ mixMonitorId: string }> {
    assertSafeRecording(req);
    // Asterisk returns the MixMonitorID only when the i() option names a variable to store it in.
    const options = /i\(/.test(req.options) ? req.options : `${req.options}i(${MIXMONITOR_ID_VARIABLE})`;
    const res = await this.ami.action('MixMonitor', { Channel: req.channel, File: req.file, Options: options });
    const id = res.mixmonitorid;
    if (typeof id !== 'string' || id === '') throw new AmiError('MixMonitor answered without a MixMonitorID', res);
    return { mixMonitorId: id };
  }

  async stop(channel: string, mixMonitorId: string): Promise<void> {
    if (!SAFE_CHANNEL.test(channel)) throw new AmiError('channel name is outside the allowed character set');
    await this.ami.action('StopMixMonitor', { Channel: channel, MixMonitorID: mixMonitorId });
  }

  async mute(channel: string, on: boolean): Promise<void> {
    if (!SAFE_CHANNEL.test(channel)) throw new AmiError('channel name is outside the allowed character set');
    await this.ami.action('MixMonitorMute', { Channel: channel, Direction: 'both', State: on ? '1' : '0' });
  }
}
