/** ChatHandler beyond the protocol table: options, hubs, ordering, failures, coalescing. */
import type net from 'node:net';
import { ErrorCodes, ThreadingTCPServer, ThreadingUnixStreamServer } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import {
  ChatHandler,
  type ChatHub,
  type ChatSessionId,
  type ChatSink,
  type ChatWelcome,
  MemoryHub,
} from '../src/index.js';
import { LineClient, pause, serving, tempDir } from './helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };

async function chatServer(Handler: typeof ChatHandler) {
  return serving(new ThreadingTCPServer(LOOPBACK, Handler));
}

/** Connects and reads the welcome line. */
async function join(address: Parameters<typeof LineClient.connect>[0]): Promise<LineClient> {
  const client = await LineClient.connect(address);
  expect(await client.line()).toMatch(/^-- welcome, you are guest\d+ in #lobby/);
  return client;
}

describe('ChatHandler.with()', () => {
  it('validates the options once, with coded errors', () => {
    expect(() => ChatHandler.with({ maxLineBytes: 0 })).toThrow(
      expect.objectContaining({ name: 'RangeError', code: ErrorCodes.INVALID_ARG_VALUE }),
    );
    expect(() => ChatHandler.with({ maxPendingBytes: 1.5 })).toThrow(RangeError);
    expect(() => ChatHandler.with({ timeout: -1 })).toThrow(RangeError);
    expect(() => ChatHandler.with({ maxLineBytes: '10' as unknown as number })).toThrow(
      expect.objectContaining({ name: 'TypeError', code: ErrorCodes.INVALID_ARG_TYPE }),
    );
    expect(() => ChatHandler.with({ hub: {} as ChatHub })).toThrow(/option "hub" must be a ChatHub/);
    expect(() => ChatHandler.with(null as unknown as object)).toThrow(TypeError);
  });

  it('returns a subclass with the options merged over the class’s own', () => {
    const hub = new MemoryHub();
    const Small = ChatHandler.with({ maxLineBytes: 100, hub });
    const SmallAndPatient = Small.with({ timeout: 60 });
    expect(SmallAndPatient.options).toEqual({ maxLineBytes: 100, hub, timeout: 60 });
    expect(Small.options).toEqual({ maxLineBytes: 100, hub });
    expect(ChatHandler.options).toEqual({});
    expect(SmallAndPatient.prototype).toBeInstanceOf(ChatHandler);
    expect(SmallAndPatient.name).toBe('ChatHandler');

    class Custom extends ChatHandler {
      override maxPendingBytes = 4096;
    }
    const Configured = Custom.with({ maxLineBytes: 8 });
    expect(Configured.prototype).toBeInstanceOf(Custom);
    expect(Configured.name).toBe('Custom');
  });
});

describe('ChatHandler hubs', () => {
  it('gives each server its own MemoryHub by default', async () => {
    await using first = await chatServer(ChatHandler);
    await using second = await chatServer(ChatHandler);
    const a = await join(first.serverAddress);
    const b = await join(second.serverAddress);
    a.sendLine('/nick alice');
    b.sendLine('/nick alice');
    expect(await a.line()).toBe('-- you are now alice');
    expect(await b.line()).toBe('-- you are now alice');
    a.destroy();
    b.destroy();
  });

  it('shares one hub between a TCP and a Unix server: one chat', async () => {
    using dir = tempDir();
    const Handler = ChatHandler.with({ hub: new MemoryHub() });
    await using tcp = await serving(new ThreadingTCPServer(LOOPBACK, Handler));
    await using unix = await serving(new ThreadingUnixStreamServer(dir.file('chat.sock'), Handler));
    const a = await join(tcp.serverAddress);
    const b = await LineClient.connect(unix.serverAddress);
    expect(await b.line()).toBe('-- welcome, you are guest2 in #lobby (type /help for commands)');
    expect(await a.line()).toBe('-- guest2 joined #lobby');
    b.sendLine('over unix');
    expect(await a.line()).toBe('<guest2> over unix');
    a.destroy();
    b.destroy();
  });

  it('ends the session when the hub closes its sink, with the hub’s reason', async () => {
    class KickingHub extends MemoryHub {
      readonly sinks = new Map<string, ChatSink>();
      override async connect(sink: ChatSink): Promise<ChatWelcome> {
        const welcome = await super.connect(sink);
        this.sinks.set(welcome.nick, sink);
        return welcome;
      }
    }
    const hub = new KickingHub();
    await using server = await chatServer(ChatHandler.with({ hub }));
    const a = await join(server.serverAddress);
    const b = await join(server.serverAddress);
    expect(await a.line()).toBe('-- guest2 joined #lobby');
    b.sendLine('/who');
    expect(await b.line()).toBe('-- online in #lobby: guest1, guest2');
    hub.sinks.get('guest2')!.close('kicked');
    expect(await b.untilClosed()).toEqual([]);
    expect(await a.line()).toBe('-- guest2 left #lobby (kicked)');
    a.destroy();
  });

  it('a failing hub ends that session as a request error; the server and the others go on', async () => {
    class FlakyHub extends MemoryHub {
      override async who(room: string): Promise<string[]> {
        if (room === '#cursed') throw new Error('hub unavailable');
        return super.who(room);
      }
    }
    await using server = await chatServer(ChatHandler.with({ hub: new FlakyHub() }));
    const errors: unknown[] = [];
    server.on('request-error', (error) => errors.push(error));
    const a = await join(server.serverAddress);
    const b = await join(server.serverAddress);
    await a.line(); // guest2 joined
    b.sendLine('/join #cursed');
    await b.lines(2);
    expect(await a.line()).toBe('-- guest2 left #lobby (joined #cursed)');
    b.sendLine('/who');
    await b.untilClosed();
    expect(errors).toEqual([expect.objectContaining({ message: 'hub unavailable' })]);
    const c = await join(server.serverAddress);
    c.sendLine('/rooms');
    expect(await c.line()).toBe('-- rooms: #lobby (2)');
    a.destroy();
    c.destroy();
  });
});

describe('ChatHandler ordering', () => {
  /** A hub that lets other lines reach a session before its own call is answered (as a remote hub may). */
  class RacingHub extends MemoryHub {
    readonly sinks = new Map<ChatSessionId, ChatSink>();
    override async connect(sink: ChatSink): Promise<ChatWelcome> {
      const welcome = await super.connect(sink);
      this.sinks.set(welcome.session, sink);
      sink.deliver('<zed> before your welcome was answered');
      await pause(5);
      return welcome;
    }
    override async join(session: ChatSessionId, room: string) {
      const result = await super.join(session, room);
      this.sinks.get(session)!.deliver(`<zed> already in ${result.room}`);
      await pause(5);
      return result;
    }
  }

  it('writes the welcome and the /join replies before lines that arrived meanwhile', async () => {
    await using server = await chatServer(ChatHandler.with({ hub: new RacingHub() }));
    const a = await LineClient.connect(server.serverAddress);
    expect(await a.lines(2)).toEqual([
      '-- welcome, you are guest1 in #lobby (type /help for commands)',
      '<zed> before your welcome was answered',
    ]);
    a.sendLine('/join #dev');
    expect(await a.lines(3)).toEqual([
      '-- you joined #dev',
      '-- online in #dev: guest1',
      '<zed> already in #dev',
    ]);
    a.destroy();
  });

  it('/msg names the recipient as the hub knows them; rooms are case-insensitive', async () => {
    await using server = await chatServer(ChatHandler);
    const a = await join(server.serverAddress);
    const b = await join(server.serverAddress);
    await a.line();
    b.sendLine('/nick Bob');
    await b.line();
    await a.line();
    a.sendLine('/msg BOB hi');
    expect(await a.line()).toBe('[you -> Bob] hi');
    expect(await b.line()).toBe('[guest1 -> you] hi');
    a.sendLine('/join #Dev');
    expect(await a.lines(2)).toEqual(['-- you joined #Dev', '-- online in #Dev: guest1']);
    b.sendLine('/join #dev');
    expect(await b.lines(3)).toEqual([
      '-- guest1 left #lobby (joined #Dev)',
      '-- you joined #Dev',
      '-- online in #Dev: Bob, guest1',
    ]);
    a.destroy();
    b.destroy();
  });
});

describe('ChatHandler input', () => {
  it('decodes a CJK line split into two segments at every byte offset', async () => {
    await using server = await chatServer(ChatHandler);
    const a = await join(server.serverAddress);
    const b = await join(server.serverAddress);
    await a.line();
    const text = '你好，世界！こんにちは 🌏';
    const bytes = Buffer.from(`${text}\n`, 'utf8');
    for (let offset = 1; offset < bytes.length; offset++) {
      await a.send(bytes.subarray(0, offset));
      await pause(1);
      await a.send(bytes.subarray(offset));
      expect(await b.line()).toBe(`<guest1> ${text}`);
    }
    a.destroy();
    b.destroy();
  });
});

describe('ChatHandler output', () => {
  it('coalesces the lines of one turn into one write per client', async () => {
    const writes = new Map<string, number>();
    class CountingChat extends ChatHandler {
      override setup(): void {
        super.setup();
        const socket: net.Socket = this.connection;
        const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
        socket.write = ((...args: unknown[]) => {
          writes.set(this.nick, (writes.get(this.nick) ?? 0) + 1);
          return write(...args);
        }) as net.Socket['write'];
      }
    }
    await using server = await chatServer(CountingChat);
    const a = await join(server.serverAddress);
    const b = await join(server.serverAddress);
    await a.line();
    b.sendLine('/who');
    await b.line();
    writes.clear();
    // 200 lines in one write: they reach the server in one or a few chunks.
    await a.send(Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join(''));
    for (let i = 0; i < 200; i++) expect(await b.line()).toBe(`<guest1> line ${i}`);
    expect(writes.get('guest2')).toBeLessThan(10);
    a.destroy();
    b.destroy();
  });

  it('never prints, whatever clients do', async () => {
    const printed: string[] = [];
    const stdout = process.stdout.write;
    const stderr = process.stderr.write;
    process.stdout.write = ((chunk: unknown) =>
      printed.push(String(chunk)) > 0) as typeof process.stdout.write;
    process.stderr.write = ((chunk: unknown) =>
      printed.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      await using server = await chatServer(ChatHandler.with({ maxLineBytes: 16 }));
      const a = await join(server.serverAddress);
      await a.send(Buffer.from([0xff, 0xfe, 0x0a, 0x2f, 0x0a]));
      a.sendLine('x'.repeat(100));
      a.sendLine('/quit');
      await a.untilClosed();
      const b = await join(server.serverAddress);
      b.reset();
      const c = await join(server.serverAddress);
      c.end();
      await c.untilClosed();
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    expect(printed).toEqual([]);
  });
});
