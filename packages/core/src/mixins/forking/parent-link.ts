/**
 * The child side of a forking server: receives requests from the parent over the IPC channel and
 * reports back. The child exits when the parent goes away (no orphans), and reports an uncaught
 * error before it dies.
 */
import type net from 'node:net';
import {
  type ChildMessage,
  errorInfo,
  isProtocolMessage,
  type ParentMessage,
  type ServerFields,
} from './protocol.js';

export interface LinkHost {
  connection(socket: net.Socket, id: number, clientAddress: unknown): void;
  datagram(packet: Buffer, id: number, clientAddress: unknown): void;
  /** The server's data fields as the parent has them: applied before the next request runs. */
  fields(fields: ServerFields): void;
  stop(): void;
}

const ignoreError = (): void => {};

/** Node's own acknowledgement of a handle-carrying message (see #onInternalMessage). */
interface HandleAck {
  cmd: 'NODE_HANDLE_ACK';
}

export class ParentLink {
  readonly #host: LinkHost;
  #sending = 0;
  readonly #flushed: Array<() => void> = [];
  /** The `seq` of the last request the parent sent that this child has accounted for. */
  #seq = 0;
  readonly #onMessage = (message: unknown, handle: unknown): void => {
    if (!isProtocolMessage<ParentMessage>(message)) return;
    switch (message.sockserve) {
      case 'connection': {
        this.#received(message.seq);
        const socket = handle as net.Socket | undefined;
        if (socket === undefined) {
          this.#post({ sockserve: 'missed', from: message.seq, to: message.seq });
          return;
        }
        // As on the parent's server: the peer may half-close and still receive every reply.
        socket.allowHalfOpen = true;
        socket.on('error', ignoreError);
        // What the parent read while the connection waited for a child comes first.
        if (message.preread !== undefined) socket.unshift(Buffer.from(message.preread));
        if (message.fields !== undefined) this.#host.fields(message.fields);
        this.#host.connection(socket, message.id, message.clientAddress);
        break;
      }
      case 'datagram':
        this.#received(message.seq);
        if (message.fields !== undefined) this.#host.fields(message.fields);
        this.#host.datagram(Buffer.from(message.packet), message.id, message.clientAddress);
        break;
      case 'fields':
        this.#host.fields(message.fields);
        break;
      case 'sync':
        // Every request sent before this message has arrived by now, or been dropped.
        if (message.seq > this.#seq) {
          this.#post({ sockserve: 'missed', from: this.#seq + 1, to: message.seq });
          this.#seq = message.seq;
        }
        break;
      case 'stop':
        this.#host.stop();
        break;
    }
  };
  /**
   * Runs before Node's own handling of a handle-carrying message. When the handle did not arrive
   * (this child is out of descriptors: EMFILE), Node would answer NODE_HANDLE_NACK and the parent
   * would send the message again, wrapped once more; this child would then acknowledge that resend
   * twice, and the second NODE_HANDLE_ACK, finding no handle queue, kills the parent with
   * ERR_INTERNAL_ASSERTION in node:internal/child_process (Node.js 20 to 26 at least). So a
   * connection that did not arrive is answered here instead, and never NACKed: the message is renamed
   * (Node's listener, next, then ignores it), the parent gets the ACK it waits for (it closes its copy
   * of the socket: the client's connection is closed) and a `missed` report for the request (it
   * releases the slot and reports CHILD_FAILED). No resend, so no SentHandleNotReceivedWarning.
   */
  readonly #onInternalMessage = (message: unknown, handle: unknown): void => {
    if (handle !== undefined && handle !== null) return;
    if (typeof message !== 'object' || message === null) return;
    const wrapper = message as { cmd?: unknown; msg?: unknown };
    if (wrapper.cmd !== 'NODE_HANDLE' || !isProtocolMessage<ParentMessage>(wrapper.msg)) return;
    wrapper.cmd = 'NODE_HANDLE_NOT_RECEIVED';
    this.#post({ cmd: 'NODE_HANDLE_ACK' });
    this.#onMessage(wrapper.msg, undefined);
  };
  readonly #onDisconnect = (): void => {
    // The parent is gone: nobody can be served any more, and an orphan must not linger.
    process.exit(0);
  };
  readonly #onFatal = (error: unknown): void => {
    const exit = (): never => process.exit(1);
    if (process.connected) this.#post({ sockserve: 'fatal', error: errorInfo(error) }, exit);
    else exit();
  };

  constructor(host: LinkHost) {
    this.#host = host;
  }

  /** Starts listening to the parent and tells it this child is ready. */
  attach(): void {
    process.on('message', this.#onMessage);
    // Ahead of Node's own listener (set up before any user code ran), and kept until the child exits.
    process.prependListener('internalMessage' as 'message', this.#onInternalMessage);
    process.once('disconnect', this.#onDisconnect);
    process.on('uncaughtException', this.#onFatal);
    // ^C in a terminal reaches the whole process group: the parent decides when children stop.
    process.on('SIGINT', ignoreError);
    this.#post({ sockserve: 'ready', pid: process.pid });
  }

  /** Takes no more requests from the parent. */
  stopReceiving(): void {
    process.off('message', this.#onMessage);
  }

  /** Once every report has been sent, disconnects from the parent (so the child can exit). */
  async detach(): Promise<void> {
    this.stopReceiving();
    while (this.#sending > 0) await new Promise<void>((resolve) => this.#flushed.push(resolve));
    process.off('disconnect', this.#onDisconnect);
    process.off('SIGINT', ignoreError);
    if (process.connected) process.disconnect();
  }

  failed(id: number, error: unknown): void {
    this.#post({ sockserve: 'error', id, error: errorInfo(error) });
  }

  /** The TLS handshake of request `id` failed here: the parent reports it as `tls-error`. */
  tlsFailed(id: number, error: unknown): void {
    this.#post({ sockserve: 'error', id, error: { ...errorInfo(error), tls: true } });
  }

  done(id: number): void {
    this.#post({ sockserve: 'done', id });
  }

  /** Asks the parent to send a datagram from the server's socket. */
  relay(data: Uint8Array, address: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#post({ sockserve: 'send', data: Buffer.from(data), address }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  /**
   * Accounts for request `seq`. Node sends a handle-carrying message again when the child could not
   * take the handle (out of descriptors), and after three tries drops it without telling either side;
   * the messages after it still arrive, in order. A gap in the numbers is such a drop: reported, so
   * the parent can release the request and its connection.
   */
  #received(seq: number): void {
    if (seq > this.#seq + 1) this.#post({ sockserve: 'missed', from: this.#seq + 1, to: seq - 1 });
    this.#seq = Math.max(this.#seq, seq);
  }

  #post(message: ChildMessage | HandleAck, callback?: (error: Error | null) => void): void {
    if (!process.connected) {
      callback?.(new Error('the forking server parent is gone'));
      return;
    }
    this.#sending += 1;
    process.send!(message, undefined, {}, (error) => {
      this.#sending -= 1;
      if (this.#sending === 0) for (const resolve of this.#flushed.splice(0)) resolve();
      callback?.(error);
    });
  }
}
