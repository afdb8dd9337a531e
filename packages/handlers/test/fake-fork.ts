/**
 * A forking server's IPC, simulated in one process for the process hub's unit tests: a fake parent
 * server (the events and `sendToChild` of `ForkingMixIn`) and one channel per fake child. Messages are
 * structured-cloned (as `serialization: 'advanced'` does) and arrive in order, a turn of the event loop
 * after they were sent, as over a real IPC channel.
 */
import { EventEmitter } from 'node:events';
import type { ChildExit } from '@sockserve/core';
import type { ProcessHubChannel, ProcessHubServer } from '../src/index.js';

interface FakeChild {
  connected: boolean;
  listener: ((message: unknown) => void) | undefined;
}

export class FakeForkingServer extends EventEmitter implements ProcessHubServer {
  readonly isChild: boolean = false;
  readonly #children = new Map<number, FakeChild>();
  /** Every message sent to each child, in order (what crossed the "IPC channel"). */
  readonly sent: Map<number, unknown[]> = new Map();
  /** Every message each child sent. */
  readonly received: Map<number, unknown[]> = new Map();

  sendToChild(pid: number, message: unknown): boolean {
    const child = this.#children.get(pid);
    if (child === undefined || !child.connected) return false;
    const copy = structuredClone(message);
    push(this.sent, pid, copy);
    setImmediate(() => {
      if (child.connected) child.listener?.(copy);
    });
    return true;
  }

  /** A new child `pid` and its end of the channel (what `process.send`/`process.on('message')` are there). */
  spawn(pid: number): ProcessHubChannel {
    const child: FakeChild = { connected: true, listener: undefined };
    this.#children.set(pid, child);
    this.emit('child-spawn', pid);
    return {
      get connected() {
        return child.connected;
      },
      send: (message, done) => {
        const copy = structuredClone(message);
        setImmediate(() => {
          if (!child.connected) return done(new Error('channel closed'));
          push(this.received, pid, copy);
          this.emit('child-message', pid, copy);
          done(null);
        });
      },
      listen: (listener) => {
        child.listener = listener;
      },
    };
  }

  /** The child dies (as with SIGKILL): its channel closes, then `child-exit`. */
  kill(pid: number): void {
    const child = this.#children.get(pid);
    if (child === undefined) return;
    child.connected = false;
    this.#children.delete(pid);
    const exit: ChildExit = { pid, code: null, signal: 'SIGKILL', expected: false, lostRequests: 0 };
    this.emit('child-exit', exit);
  }

  /** A message from `pid` that arrives after its exit (a real channel may still hold some). */
  lateMessage(pid: number, message: unknown): void {
    this.emit('child-message', pid, structuredClone(message));
  }
}

function push(map: Map<number, unknown[]>, pid: number, message: unknown): void {
  let list = map.get(pid);
  if (list === undefined) {
    list = [];
    map.set(pid, list);
  }
  list.push(message);
}
