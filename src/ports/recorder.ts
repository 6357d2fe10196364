/** Recording, implemented over AMI MixMonitor by adapters/ami. */

export interface RecordingRequest {
  /** Channel name as Asterisk knows it (server-side, never caller data). */
  channel: string;
  /** Absolute path of the file; validated by the adapter against a strict character set. */
  file: string;
  /** MixMonitor options, validated by the adapter. */
  options: string;
}

export interface Recorder {
  /** Starts MixMonitor; resolves with its id once Asterisk confirmed it, rejects otherwise. */
  start(req: RecordingRequest): Promise<{ mixMonitorId: string }>;
  /** Stops a recording started by `start` (used when a start completes after the call ended). */
  stop(channel: string, mixMonitorId: string): Promise<void>;
  /** Mutes (silence in the file) or unmutes the recording of a channel, both directions. */
  mute(channel: string, on: boolean): Promise<void>;
}
