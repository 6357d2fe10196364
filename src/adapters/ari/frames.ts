/**
 * What is said of a frame from Asterisk that ari-client could not handle: ari-client (as patched,
 * patches/ari-client+2.2.0.patch) gives it to its 'WebSocketMessageError' listeners with the error,
 * and goes on with the frames after it.
 */

/** What is logged of such a frame: never its text (it holds caller IDs). */
export interface DroppedFrame {
  /** The error's class (SyntaxError, TypeError, ...), not its message, which may quote the frame. */
  error: string;
  bytes: number;
  /** The frame's event type, when it has one made of letters only. */
  type?: string;
}

export function describeFrame(e: unknown, frame: unknown): DroppedFrame {
  const text = typeof frame === 'string' ? frame : Buffer.isBuffer(frame) ? frame.toString('utf8') : '';
  const out: DroppedFrame = { error: e instanceof Error ? e.name : typeof e, bytes: Buffer.byteLength(text) };
  const type = /"type"\s*:\s*"([A-Za-z]{1,64})"/.exec(text)?.[1];
  if (type) out.type = type;
  return out;
}
