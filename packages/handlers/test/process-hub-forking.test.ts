/**
 * The process hub on a real forking server: 2 child processes, clients spread over both, the broker
 * in this process. Children are plain Node processes that load the BUILT packages (the handler comes
 * from test/fixtures/chat-handler.mjs through `handlerModule`), so this file imports them by package
 * name too, and `npx turbo run build` must have run.
 */
import { type ChildExit, ForkingTCPServer, type InetAddress } from '@sockserve/core';
import {
  ChatHandler,
  type ChatHandlerOptions,
  ChatText,
  ProcessHub,
  ProcessHubBroker,
} from '@sockserve/handlers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatServerFactory, describeChatConformance } from './chat-conformance.js';
import { LineClient, serving, until } from './helpers.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const welcome = (n: number): string => `-- welcome, you are guest${n} in #lobby (type /help for commands)`;

/** The fixture module, with the handler's options (and the test's settings) in its query. */
function handlerModule(query: Record<string, string>): { module: URL } {
  const module = new URL('./fixtures/chat-handler.mjs', import.meta.url);
  for (const [key, value] of Object.entries(query)) module.searchParams.set(key, value);
  return { module };
}

type Serving = Awaited<ReturnType<typeof serving<ForkingTCPServer>>>;

interface ForkingChat {
  server: Serving;
  broker: ProcessHubBroker;
  address: InetAddress;
  /** Pids of the children that talked to the broker. */
  talked: Set<number>;
  exits: ChildExit[];
  errors: Error[];
}

/** A forking chat server with `workers` children and its broker, serving. */
async function forkingChat(query: Record<string, string> = {}, workers = 2): Promise<ForkingChat> {
  const server = new ForkingTCPServer(LOOPBACK, ChatHandler, {
    workers,
    handlerModule: handlerModule(query),
  });
  const hub = ProcessHub.attach(server);
  expect(hub).toBeInstanceOf(ProcessHubBroker);
  const talked = new Set<number>();
  const exits: ChildExit[] = [];
  const errors: Error[] = [];
  server.on('child-message', (pid) => talked.add(pid));
  server.on('child-exit', (exit) => exits.push(exit));
  server.on('request-error', (error) => errors.push(error as Error));
  const running = await serving(server);
  return {
    server: running,
    broker: hub as ProcessHubBroker,
    address: running.serverAddress,
    talked,
    exits,
    errors,
  };
}

/** Waits until the chat has nobody left (every session of the last case ended, in the children too). */
async function emptied({ server, broker }: ForkingChat): Promise<void> {
  await until(
    () => server.activeRequestCount === 0 && broker.sessionCounts().size === 0,
    'the chat to be empty',
  );
  expect(await broker.rooms()).toEqual([]);
}

/**
 * The conformance table on forking servers kept for the whole suite (one per set of handler options:
 * starting children costs ~100 ms each). A new connection goes to the least busy child, so the
 * clients of each case alternate between the two children.
 */
function forkingFactory(): ChatServerFactory {
  const kept = new Map<string, Promise<ForkingChat>>();
  return {
    name: 'ForkingTCPServer with 2 children and the process hub',
    async start(options: ChatHandlerOptions) {
      const key = JSON.stringify(options);
      let chat = kept.get(key);
      if (chat === undefined) {
        chat = forkingChat({ options: key });
        kept.set(key, chat);
      }
      const ready = await chat;
      await emptied(ready);
      return { address: ready.address, close: () => emptied(ready) };
    },
    async dispose() {
      const chats = await Promise.all(kept.values());
      try {
        for (const chat of chats) {
          expect(chat.talked.size, 'children that served chat sessions').toBe(2);
          expect(chat.exits).toEqual([]);
          expect(chat.errors).toEqual([]);
        }
      } finally {
        await Promise.all(chats.map((chat) => chat.server[Symbol.asyncDispose]()));
      }
    },
  };
}

describeChatConformance(forkingFactory());

/** A client connected to the chat, and the pid of the child that holds its session. */
async function connectOn(chat: ForkingChat, expected: string): Promise<{ client: LineClient; pid: number }> {
  const before = chat.broker.sessionCounts();
  const client = await LineClient.connect(chat.address);
  expect(await client.line()).toBe(expected);
  const after = chat.broker.sessionCounts();
  const pid = [...after].find(([child, count]) => count > (before.get(child) ?? 0))?.[0];
  if (pid === undefined) throw new Error('no child got the new session');
  return { client, pid };
}

/** Connects `names` in order (guest1, guest2, … renamed), reading every notice; returns them by name. */
async function users(chat: ForkingChat, ...names: string[]) {
  const joined: { name: string; client: LineClient; pid: number }[] = [];
  for (const [i, name] of names.entries()) {
    const user = { name, ...(await connectOn(chat, welcome(i + 1))) };
    for (const earlier of joined) expect(await earlier.client.line()).toBe(`-- guest${i + 1} joined #lobby`);
    joined.push(user);
  }
  for (const [i, user] of joined.entries()) {
    user.client.sendLine(`/nick ${user.name}`);
    expect(await user.client.line()).toBe(`-- you are now ${user.name}`);
    for (const other of joined) {
      if (other !== user)
        expect(await other.client.line()).toBe(`-- guest${i + 1} is now known as ${user.name}`);
    }
  }
  return Object.fromEntries(joined.map((user) => [user.name, user]));
}

describe('the process hub across the children of a forking server', () => {
  let chat: ForkingChat;
  const opened: LineClient[] = [];
  beforeAll(async () => {
    chat = await forkingChat();
  });
  afterAll(async () => {
    await chat?.server[Symbol.asyncDispose]();
  });
  async function done(): Promise<void> {
    for (const client of opened.splice(0)) client.destroy();
    await emptied(chat);
  }

  it('spreads clients over both children; /who is complete, room lines and /msg reach the other child', async () => {
    const { alice, bob, carol, dave } = await users(chat, 'alice', 'bob', 'carol', 'dave');
    opened.push(alice!.client, bob!.client, carol!.client, dave!.client);
    expect(new Set([alice!.pid, bob!.pid, carol!.pid, dave!.pid]).size).toBe(2);
    expect(alice!.pid).not.toBe(bob!.pid);
    expect([...chat.broker.sessionCounts().values()]).toEqual([2, 2]);

    dave!.client.sendLine('/who');
    expect(await dave!.client.line()).toBe('-- online in #lobby: alice, bob, carol, dave');
    alice!.client.sendLine('hello from one child');
    for (const other of [bob, carol, dave])
      expect(await other!.client.line()).toBe('<alice> hello from one child');
    alice!.client.sendLine('/msg BOB across');
    expect(await alice!.client.line()).toBe('[you -> bob] across');
    expect(await bob!.client.line()).toBe('[alice -> you] across');

    bob!.client.sendLine('/join #dev');
    expect(await bob!.client.lines(2)).toEqual(['-- you joined #dev', '-- online in #dev: bob']);
    for (const other of [alice, carol, dave])
      expect(await other!.client.line()).toBe('-- bob left #lobby (joined #dev)');
    carol!.client.sendLine('/join #dev');
    expect(await carol!.client.lines(2)).toEqual(['-- you joined #dev', '-- online in #dev: bob, carol']);
    expect(await bob!.client.line()).toBe('-- carol joined #dev');
    for (const other of [alice, dave])
      expect(await other!.client.line()).toBe('-- carol left #lobby (joined #dev)');
    carol!.client.sendLine('/rooms');
    expect(await carol!.client.line()).toBe('-- rooms: #dev (2), #lobby (2)');
    dave!.client.sendLine('/quit');
    expect(await dave!.client.line()).toBe('-- bye');
    expect(await alice!.client.line()).toBe('-- dave left #lobby (quit)');
    await done();
  });

  it('keeps nicknames unique across children, also when two children claim one at once', async () => {
    const { alice, bob } = await users(chat, 'alice', 'bob');
    opened.push(alice!.client, bob!.client);
    expect(alice!.pid).not.toBe(bob!.pid);
    bob!.client.sendLine('/nick ALICE');
    expect(await bob!.client.line()).toBe('! nickname taken: ALICE');
    for (let round = 0; round < 5; round++) {
      const claims = new Map([
        [alice!, `both${round}`],
        [bob!, `BOTH${round}`],
      ]);
      const notices = new Map<unknown, string[]>([
        [alice!, []],
        [bob!, []],
      ]);
      /** The reply to the user's /nick; the rename notice of the other may come before it. */
      const replyTo = async (user: typeof alice): Promise<string> => {
        for (;;) {
          const line = await user!.client.line();
          if (/^(-- you are now |! nickname taken: )/.test(line)) return line;
          notices.get(user)!.push(line);
        }
      };
      for (const [user, name] of claims) user.client.sendLine(`/nick ${name}`);
      const replies = [await replyTo(alice), await replyTo(bob)];
      const aliceWon = replies[0] === `-- you are now both${round}`;
      const [winner, loser] = aliceWon ? [alice!, bob!] : [bob!, alice!];
      expect(replies, 'exactly one claim wins').toEqual(
        aliceWon
          ? [`-- you are now both${round}`, `! nickname taken: BOTH${round}`]
          : [`! nickname taken: both${round}`, `-- you are now BOTH${round}`],
      );
      // The loser hears of the winner's new name (before or after its own reply); the winner hears nothing.
      if (notices.get(loser)!.length === 0) notices.get(loser)!.push(await loser.client.line());
      expect(notices.get(loser)).toEqual([`-- ${winner.name} is now known as ${claims.get(winner)}`]);
      expect(notices.get(winner)).toEqual([]);
      // Back to the first names for the next round.
      winner.client.sendLine(`/nick ${winner.name}`);
      expect(await winner.client.line()).toBe(`-- you are now ${winner.name}`);
      expect(await loser.client.line()).toBe(`-- ${claims.get(winner)} is now known as ${winner.name}`);
    }
    await done();
  });
});

describe('a child that crashes', () => {
  it('its users leave their rooms with a notice the other child sees; their nicknames are free', async () => {
    const chat = await forkingChat();
    await using _ = chat.server;
    // A second connection goes to the other child (the least busy one).
    const { alice, bob } = await users(chat, 'alice', 'bob');
    try {
      expect(bob!.pid).not.toBe(alice!.pid);
      bob!.client.sendLine('/join #doomed');
      expect(await bob!.client.lines(2)).toEqual(['-- you joined #doomed', '-- online in #doomed: bob']);
      expect(await alice!.client.line()).toBe('-- bob left #lobby (joined #doomed)');
      alice!.client.sendLine('/join #doomed');
      expect(await alice!.client.lines(2)).toEqual([
        '-- you joined #doomed',
        '-- online in #doomed: alice, bob',
      ]);
      expect(await bob!.client.line()).toBe('-- alice joined #doomed');

      process.kill(bob!.pid, 'SIGKILL'); // a child of this test's own server
      expect(await alice!.client.line()).toBe('-- bob left #doomed (connection closed)');
      await bob!.client.untilClosed();
      await until(() => chat.exits.length === 1);
      expect(chat.exits[0]).toMatchObject({ pid: bob!.pid, signal: 'SIGKILL', expected: false });
      expect([...chat.broker.sessionCounts().keys()]).toEqual([alice!.pid]);

      alice!.client.sendLine('/who');
      expect(await alice!.client.line()).toBe('-- online in #doomed: alice');
      alice!.client.sendLine('/nick bob');
      expect(await alice!.client.line()).toBe('-- you are now bob');
      // The replacement child serves the same chat.
      await until(() => chat.server.childPids.length === 2 && !chat.server.childPids.includes(bob!.pid));
      const { client: again, pid } = await connectOn(chat, welcome(1));
      try {
        expect(pid).not.toBe(bob!.pid);
        again.sendLine('/join #doomed');
        expect(await again.lines(2)).toEqual(['-- you joined #doomed', '-- online in #doomed: bob, guest1']);
        expect(await alice!.client.line()).toBe('-- guest1 joined #doomed');
      } finally {
        again.destroy();
      }
    } finally {
      for (const user of [alice, bob]) user!.client.destroy();
    }
  });
});

describe('closing a forking chat', () => {
  it('broker.close(ChatText.SHUTTING_DOWN) tells the users of every child, then closes them', async () => {
    const chat = await forkingChat();
    await using _ = chat.server;
    const { alice, bob } = await users(chat, 'alice', 'bob');
    try {
      expect(alice!.pid).not.toBe(bob!.pid);
      await chat.broker.close(ChatText.SHUTTING_DOWN);
      for (const user of [alice!, bob!]) {
        expect(await user.client.line()).toBe('-- server shutting down');
        expect(await user.client.untilClosed()).toEqual([]);
      }
      // Too late: welcomed, told, closed.
      const late = await LineClient.connect(chat.address);
      try {
        expect(await late.lines(2)).toEqual([welcome(1), '-- server shutting down']);
        expect(await late.untilClosed()).toEqual([]);
      } finally {
        late.destroy();
      }
      await emptied(chat);
    } finally {
      for (const user of [alice, bob]) user!.client.destroy();
    }
  });
});

describe('a forking chat without a broker in the parent', () => {
  it('ends the session when the hub call times out, with an error that says to call ProcessHub.attach', async () => {
    const server = new ForkingTCPServer(LOOPBACK, ChatHandler, {
      workers: 1,
      handlerModule: handlerModule({ callTimeout: '0.3' }),
    });
    const errors: Error[] = [];
    server.on('request-error', (error) => errors.push(error as Error));
    await using running = await serving(server); // no ProcessHub.attach(server)
    const client = await LineClient.connect(running.serverAddress);
    try {
      expect(await client.untilClosed()).toEqual([]);
      await until(() => errors.length === 1);
      expect(errors[0]!.message).toContain('call ProcessHub.attach(server) in the forking server');
    } finally {
      client.destroy();
    }
  });
});
