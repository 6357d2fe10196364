/**
 * Workaround for ari-client not noticing a silent websocket: the heartbeat pings the websocket that
 * ari-client keeps private (its `_ws`).
 */
import type ari from 'ari-client';

export type AnyClient = ari.Client & { _ws?: { ping(): void } };

/** Pings the client's current websocket, if it has one; throws when the socket cannot be pinged. */
export function pingWebsocket(c: AnyClient): void {
  c._ws?.ping();
}
