/**
 * Chat users for the TLS tests: one line at a time from a node:tls or plain socket, or from
 * `openssl s_client -quiet` (an nc-style client). Every wait is bounded (WAIT_MS).
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import type { InetAddress } from '@sockserve/core';
import { expect } from 'vitest';
import { withDeadline } from '../../../test-support/fixtures.js';

/** A chat user on a TLS or plain socket, or on `openssl s_client`'s stdin/stdout. */
export class ChatUser {
  readonly #lines: AsyncIterator<string>;
  readonly #write: (text: string) => void;
  readonly #close: () => void;
  /** Every line taken so far (shown when a wait fails). */
  readonly #seen: string[] = [];

  private constructor(input: NodeJS.ReadableStream, write: (text: string) => void, close: () => void) {
    this.#lines = createInterface({ input })[Symbol.asyncIterator]();
    this.#write = write;
    this.#close = close;
  }

  /** node:tls, the server's certificate checked against `ca` (PEM; rejectUnauthorized, Node's default). */
  static async tls(address: InetAddress, ca: string): Promise<ChatUser> {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: address.port,
      ca,
      servername: 'localhost',
    });
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      }),
      'TLS handshake',
    );
    return new ChatUser(
      socket,
      (text) => socket.write(text),
      () => socket.destroy(),
    );
  }

  static async plain(address: InetAddress): Promise<ChatUser> {
    const socket = net.connect({ host: '127.0.0.1', port: address.port });
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      'connection',
    );
    return new ChatUser(
      socket,
      (text) => socket.write(text),
      () => socket.destroy(),
    );
  }

  /** `openssl s_client -quiet` verifying against the CA file `caFile`, as a user would type it. */
  static openssl(address: InetAddress, caFile: string): ChatUser {
    const child = spawn(
      'openssl',
      [
        's_client',
        '-quiet',
        '-connect',
        `127.0.0.1:${address.port}`,
        '-servername',
        'localhost',
        '-CAfile',
        caFile,
        '-verify_return_error',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    return new ChatUser(
      child.stdout!,
      (text) => child.stdin!.write(text),
      () => child.kill(),
    );
  }

  /** The next line ('' when the stream ended). */
  async line(): Promise<string> {
    const next = await withDeadline(this.#lines.next(), `a line after ${JSON.stringify(this.#seen)}`);
    const line = next.done ? '' : next.value;
    this.#seen.push(line);
    return line;
  }

  /** Skips lines up to one matching `pattern` (notices of others arriving first); fails at the end of the stream. */
  async lineMatching(pattern: RegExp): Promise<void> {
    for (let line = await this.line(); !pattern.test(line); line = await this.line()) {
      if (line === '') throw new Error(`stream ended before ${pattern}`);
    }
  }

  send(line: string): void {
    this.#write(`${line}\n`);
  }

  /** Connects and takes `nick`: the welcome line, then `-- you are now NICK`. */
  async named(nick: string): Promise<this> {
    expect(await this.line()).toMatch(
      /^-- welcome, you are guest\d+ in #lobby \(type \/help for commands\)$/,
    );
    this.send(`/nick ${nick}`);
    expect(await this.line()).toBe(`-- you are now ${nick}`);
    return this;
  }

  close(): void {
    this.#close();
  }
}
