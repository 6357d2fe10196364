/**
 * Workaround for ari-client's websocket frame handling, which has no try/catch: a frame it cannot
 * handle is reported and dropped instead of being an uncaught exception.
 */

/** What is logged of a frame that ari-client could not handle: never its text (it holds caller IDs). */
export interface DroppedFrame {
  /** The error's class (SyntaxError, TypeError, ...), not its message, which may quote the frame. */
  error: string;
  bytes: number;
  /** The frame's event type, when it has one made of letters only. */
  type?: string;
}

type Listener = (...args: unknown[]) => unknown;

/**
 * ari-client's websocket 'message' listener (processMessage in lib/client.js) parses and dispatches
 * each frame with no try/catch: an unparsable frame, an event type its Swagger models do not know, or
 * an event whose object a listener needs and does not get throws from inside the websocket's data
 * handler, an uncaught exception. ari-client makes a new websocket (its `_ws`) on every reconnect and
 * adds that listener right after: `_ws` becomes an accessor that wraps, on each new socket, the
 * 'message' listeners added to it, so that a frame that throws is reported and dropped, and the
 * frames after it are handled as usual.
 */
export function guardFrames(client: object, onDropped: (frame: DroppedFrame) => void): void {
  const target = client as { _ws?: unknown };
  let socket: unknown = target._ws;
  Object.defineProperty(client, '_ws', {
    configurable: true,
    enumerable: true,
    get: () => socket,
    set: (next: unknown) => {
      socket = next;
      if (next && typeof next === 'object') guardSocket(next as { on: (event: string, l: Listener) => unknown }, onDropped);
    },
  });
}

function guardSocket(ws: { on: (event: string, l: Listener) => unknown; addListener?: (event: string, l: Listener) => unknown }, onDropped: (frame: DroppedFrame) => void): void {
  const wrap = (add: (event: string, l: Listener) => unknown) =>
    function (this: unknown, event: string, listener: Listener) {
      if (event !== 'message') return add.call(ws, event, listener);
      return add.call(ws, event, function guarded(this: unknown, ...args: unknown[]) {
        try {
          return listener.apply(this, args);
        } catch (e) {
          onDropped(describeFrame(e, args[0]));
          return undefined;
        }
      });
    };
  const on = ws.on;
  ws.on = wrap(on);
  if (ws.addListener) ws.addListener = wrap(ws.addListener);
}

function describeFrame(e: unknown, frame: unknown): DroppedFrame {
  const text = typeof frame === 'string' ? frame : Buffer.isBuffer(frame) ? frame.toString('utf8') : '';
  const out: DroppedFrame = { error: e instanceof Error ? e.name : typeof e, bytes: Buffer.byteLength(text) };
  const type = /"type"\s*:\s*"([A-Za-z]{1,64})"/.exec(text)?.[1];
  if (type) out.type = type;
  return out;
}
