/**
 * `ChannelHub`: a ChatHub that behaves like a remote one, for tests. Calls go to a MemoryHub "broker"
 * over an ordered channel and answers and deliveries come back over another, each a turn of the event
 * loop later and as JSON copies — as a forking server's child talks to the broker in its parent over
 * IPC. Running the protocol suite with it checks that the handler does not depend on a hub answering
 * at once (welcome first, `-- you joined` before the new room's lines, …).
 */
import type {
  ChatHub,
  ChatJoinResult,
  ChatRenameResult,
  ChatRoomSummary,
  ChatSessionId,
  ChatSink,
  ChatWelcome,
} from '../src/index.js';
import { MemoryHub } from '../src/index.js';

/** A one-way ordered channel: messages are handled in order, a turn of the loop after being sent. */
class Channel {
  private queue: Array<() => Promise<void> | void> = [];
  private running = false;

  send(message: () => Promise<void> | void): void {
    this.queue.push(message);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.run());
    }
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) await this.queue.shift()!();
    this.running = false;
  }
}

const copy = <T>(value: T): T => (value === undefined ? value : JSON.parse(JSON.stringify(value)));

export class ChannelHub implements ChatHub {
  /** The broker (in a forking server, it would live in the parent process). */
  readonly broker: MemoryHub = new MemoryHub();
  private readonly up = new Channel();
  private readonly down = new Channel();

  /** Sends a call up; the broker's answer comes back down, after the deliveries the call caused. */
  private call<T>(run: (broker: MemoryHub) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.up.send(async () => {
        try {
          const answer = copy(await run(this.broker));
          this.down.send(() => resolve(answer));
        } catch (error) {
          this.down.send(() => reject(error));
        }
      });
    });
  }

  connect(sink: ChatSink): Promise<ChatWelcome> {
    // The broker gets a stand-in that forwards over the down channel to the real sink.
    const proxy: ChatSink = {
      deliver: (line) => this.down.send(() => sink.deliver(line)),
      close: (reason) => this.down.send(() => sink.close(reason)),
    };
    return this.call((broker) => broker.connect(proxy));
  }

  rename(session: ChatSessionId, nick: string): Promise<ChatRenameResult> {
    return this.call((broker) => broker.rename(session, nick));
  }

  join(session: ChatSessionId, room: string): Promise<ChatJoinResult> {
    return this.call((broker) => broker.join(session, room));
  }

  who(room: string): Promise<string[]> {
    return this.call((broker) => broker.who(room));
  }

  rooms(): Promise<ChatRoomSummary[]> {
    return this.call((broker) => broker.rooms());
  }

  sendToRoom(room: string, line: string, exceptSession?: ChatSessionId | null): Promise<void> {
    return this.call((broker) => broker.sendToRoom(room, line, exceptSession));
  }

  sendToUser(nick: string, line: string): Promise<string | null> {
    return this.call((broker) => broker.sendToUser(nick, line));
  }

  disconnect(session: ChatSessionId, reason: string): Promise<void> {
    return this.call((broker) => broker.disconnect(session, reason));
  }

  close(notice?: string): Promise<void> {
    return this.call((broker) => broker.close(notice));
  }
}
