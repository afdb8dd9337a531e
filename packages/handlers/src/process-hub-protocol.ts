/**
 * What the process hub's client (in a forking server's child) and its broker (in the parent) say to
 * each other over the server's IPC channel.
 *
 * A message is `{ sockserveChat: Entry[] }`: the entries one side queued during one turn of the event
 * loop, in order. The `sockserveChat` key keeps these messages apart from core's own (`sockserve`)
 * and from the application's. IPC is ordered, so everything the broker sends to a child (answers and
 * deliveries) arrives in the order the broker produced it, and each session's lines keep their order.
 */

/** The key of every process-hub message. */
export const KEY = 'sockserveChat';

/** The `ChatHub` methods a child calls on the broker (`close` is not one: see `ProcessHubClient.close`). */
export type Method =
  | 'connect'
  | 'rename'
  | 'join'
  | 'who'
  | 'rooms'
  | 'sendToRoom'
  | 'sendToUser'
  | 'disconnect';

/**
 * Child → broker: a call of `method`. For `connect`, `args` is `[sinkId]`: the id under which the
 * child registered the session's sink before sending the call; the broker addresses that session's
 * deliveries to it. The other methods take the arguments of `ChatHub`.
 */
export interface CallEntry {
  type: 'call';
  id: number;
  method: Method;
  args: unknown[];
}

/** Broker → child: the answer to call `id`. */
export interface ResultEntry {
  type: 'result';
  id: number;
  value: unknown;
}

/** Broker → child: call `id` failed. */
export interface FailureEntry {
  type: 'failure';
  id: number;
  error: { name: string; message: string };
}

/** Broker → child: `text` for each of these sinks (one entry for every session of a room in that child). */
export interface DeliverEntry {
  type: 'deliver';
  sinks: number[];
  text: string;
}

/** Broker → child: the hub ends that session (`ChatSink.close(reason)`). */
export interface CloseEntry {
  type: 'close';
  sink: number;
  reason: string;
}

export type BrokerEntry = ResultEntry | FailureEntry | DeliverEntry | CloseEntry;

export interface Message<Entry> {
  [KEY]: Entry[];
}

/** The entries of a process-hub message, or undefined for any other message. */
export function entriesOf<Entry>(message: unknown): Entry[] | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const entries = (message as { [KEY]?: unknown })[KEY];
  return Array.isArray(entries) ? (entries as Entry[]) : undefined;
}
