/**
 * The hub a `ChatHandler` uses when none was given: one `MemoryHub` per server instance, so that two
 * servers in one process never share nicknames or rooms by accident; and in a forking server's child,
 * the process hub's client, so that every child shares the broker in the parent
 * (`ProcessHub.attach(server)` there).
 */
import type { ChatHub } from './chat-hub.js';
import { MemoryHub } from './memory-hub.js';
import { processHubClient } from './process-hub.js';

const hubs = new WeakMap<object, ChatHub>();

/** The default hub of `server` (made on first use); a fresh `MemoryHub` when `server` is not an object. */
export function defaultChatHub(server: unknown): ChatHub {
  if ((typeof server !== 'object' && typeof server !== 'function') || server === null) return new MemoryHub();
  if ((server as { isChild?: unknown }).isChild === true) return processHubClient();
  let hub = hubs.get(server);
  if (hub === undefined) {
    hub = new MemoryHub();
    hubs.set(server, hub);
  }
  return hub;
}
