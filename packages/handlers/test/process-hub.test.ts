/**
 * The process hub's broker and client over a simulated IPC channel (one process, fake children): the
 * wire protocol, ordering, a child's death, close(), and the error when the parent has no broker.
 * The same code over real child processes is in process-hub-forking.test.ts.
 */
import { ErrorCodes } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import {
  type ChatSink,
  ChatText,
  MemoryHub,
  ProcessHub,
  ProcessHubBroker,
  ProcessHubClient,
  type ProcessHubServer,
} from '../src/index.js';
import { FakeForkingServer } from './fake-fork.js';
import { pause, until } from './helpers.js';

function recorder(): ChatSink & { lines: string[]; closed: string[] } {
  const lines: string[] = [];
  const closed: string[] = [];
  return { lines, closed, deliver: (line) => lines.push(line), close: (reason) => closed.push(reason) };
}

/** A parent with a broker, and two children with a client each. */
function twoChildren() {
  const server = new FakeForkingServer();
  const broker = ProcessHub.attach(server) as ProcessHubBroker;
  const one = new ProcessHubClient({ channel: server.spawn(101) });
  const two = new ProcessHubClient({ channel: server.spawn(102) });
  return { server, broker, one, two };
}

type Entry = { type: string; sinks?: number[]; id?: number; text?: string; value?: { nick?: string } };
const entries = (message: unknown): Entry[] => (message as { sockserveChat: Entry[] }).sockserveChat;

describe('ProcessHub over a simulated IPC channel', () => {
  it('makes one chat of two children: nicknames, rooms, /msg and notices cross', async () => {
    const { broker, one, two } = twoChildren();
    const a = recorder();
    const b = recorder();
    const sa = await one.connect(a);
    const sb = await two.connect(b);
    expect([sa.nick, sb.nick]).toEqual(['guest1', 'guest2']);
    await until(() => a.lines.length === 1);
    expect(a.lines).toEqual(['-- guest2 joined #lobby']);

    expect(await one.rename(sa.session, 'Alice')).toEqual({ ok: true, nick: 'Alice', previous: 'guest1' });
    expect(await two.rename(sb.session, 'alice')).toEqual({ ok: false, reason: 'taken' });
    expect((await two.who('#lobby')).sort()).toEqual(['Alice', 'guest2']);
    expect(await two.sendToUser('ALICE', '[guest2 -> you] psst')).toBe('Alice');
    expect(await one.join(sa.session, '#dev')).toEqual({
      room: '#dev',
      previous: '#lobby',
      members: ['Alice'],
    });
    expect(await two.rooms()).toEqual(
      expect.arrayContaining([
        { room: '#lobby', members: 1 },
        { room: '#dev', members: 1 },
      ]),
    );
    await one.sendToRoom('#dev', '<Alice> only me', sa.session);
    await two.sendToRoom('#lobby', '<guest2> hello?', sb.session);
    await pause(5);
    expect(a.lines).toEqual(['-- guest2 joined #lobby', '[guest2 -> you] psst']);
    expect(b.lines).toEqual(['-- guest1 is now known as Alice', '-- Alice left #lobby (joined #dev)']);
    expect(broker.sessionCounts()).toEqual(
      new Map([
        [101, 1],
        [102, 1],
      ]),
    );
    await one.disconnect(sa.session, 'quit');
    await two.disconnect(sb.session, 'quit');
    expect(broker.sessionCounts().size).toBe(0);
    expect(await broker.rooms()).toEqual([]);
  });

  it('keeps the lines that reach a session before the answer to its connect', async () => {
    const { server, one } = twoChildren();
    const first = await one.connect(recorder());
    const late = recorder();
    // One batch: the broker connects `late` into #lobby, then delivers the room message to it, and only
    // then answers the connect.
    const connecting = one.connect(late);
    const said = one.sendToRoom('#lobby', '<guest1> early', first.session);
    const welcome = await connecting;
    expect(late.lines).toEqual(['<guest1> early']);
    await said;
    expect(welcome.nick).toBe('guest2');
    // On the wire: the delivery to the new session came before the answer to its connect.
    const toChild = server.sent.get(101)!.flatMap(entries);
    const deliver = toChild.findIndex((entry) => entry.type === 'deliver' && entry.text === '<guest1> early');
    const result = toChild.findIndex((entry) => entry.type === 'result' && entry.value?.nick === 'guest2');
    expect(deliver).toBeGreaterThan(-1);
    expect(deliver).toBeLessThan(result);
  });

  it('sends a line for several sessions of one child across once, in one message per turn', async () => {
    const { server, one, two } = twoChildren();
    const sender = await one.connect(recorder());
    const sinks = [recorder(), recorder(), recorder()];
    for (const sink of sinks) await two.connect(sink);
    await pause(5);
    const before = server.sent.get(102)?.length ?? 0;
    await one.sendToRoom('#lobby', '<guest1> to all', sender.session);
    await until(() => sinks.every((sink) => sink.lines.at(-1) === '<guest1> to all'));
    const messages = server.sent.get(102)!.slice(before);
    expect(messages).toHaveLength(1);
    expect(entries(messages[0])).toEqual([
      { type: 'deliver', sinks: expect.any(Array), text: '<guest1> to all' },
    ]);
    expect(entries(messages[0])[0]!.sinks).toHaveLength(3);
  });

  it("a child's death: its sessions leave with reason connection closed, their nicknames are free", async () => {
    const { server, broker, one, two } = twoChildren();
    const a = recorder();
    const sa = await one.connect(a);
    const sb = await two.connect(recorder());
    await two.rename(sb.session, 'bob');
    await two.connect(recorder()); // guest2, also on 102
    await until(() => a.lines.length === 3);
    server.kill(102);
    await until(() => a.lines.length === 5);
    expect(a.lines.slice(3).sort()).toEqual([
      '-- bob left #lobby (connection closed)',
      '-- guest2 left #lobby (connection closed)',
    ]);
    expect(await one.rename(sa.session, 'bob')).toMatchObject({ ok: true });
    expect(broker.sessionCounts()).toEqual(new Map([[101, 1]]));
    // A call the dead child sent before it died, read after its exit, is ignored.
    server.lateMessage(102, { sockserveChat: [{ type: 'call', id: 1, method: 'connect', args: [99] }] });
    await pause(5);
    expect(await broker.who('#lobby')).toEqual(['bob']);
  });

  it('close() on the broker: every session in every child gets the notice last, then is closed', async () => {
    const { broker, one, two } = twoChildren();
    const a = recorder();
    const b = recorder();
    await one.connect(a);
    const sb = await two.connect(b);
    await until(() => a.lines.length === 1);
    await broker.close(ChatText.SHUTTING_DOWN);
    await until(() => a.closed.length === 1 && b.closed.length === 1);
    expect(a.lines).toEqual(['-- guest2 joined #lobby', '-- server shutting down']);
    expect(b.lines).toEqual(['-- server shutting down']);
    expect(a.closed).toEqual(['connection closed']);
    // The handlers disconnect; nobody hears it any more.
    await two.disconnect(sb.session, 'connection closed');
    await pause(5);
    expect(a.lines).toHaveLength(2);
    // A late session is welcomed, told and closed.
    const late = recorder();
    expect((await one.connect(late)).nick).toBe('guest2');
    await until(() => late.closed.length === 1);
    expect(late.lines).toEqual(['-- server shutting down']);
  });

  it('close() on a client ends the sessions of that child only; the others hear them leave', async () => {
    const { one, two } = twoChildren();
    const a = recorder();
    const b = recorder();
    await one.connect(a);
    const sb = await two.connect(b);
    await until(() => a.lines.length === 1);
    await two.close('-- this child is stopping');
    expect(b.lines).toEqual(['-- this child is stopping']);
    expect(b.closed).toEqual(['connection closed']);
    expect(a.closed).toEqual([]);
    await two.disconnect(sb.session, 'connection closed');
    await until(() => a.lines.length === 2);
    expect(a.lines[1]).toBe('-- guest2 left #lobby (connection closed)');
  });

  it('fails calls after callTimeout when the parent has no broker, saying what to do', async () => {
    const server = new FakeForkingServer(); // no ProcessHub.attach(server)
    const client = new ProcessHubClient({ channel: server.spawn(101), callTimeout: 0.05 });
    const sink = recorder();
    await expect(client.connect(sink)).rejects.toMatchObject({
      code: ErrorCodes.INVALID_STATE,
      message: expect.stringContaining('call ProcessHub.attach(server) in the forking server'),
    });
  });

  it('a connect answered after it timed out is disconnected again, so its nickname is not lost', async () => {
    class SlowHub extends MemoryHub {
      override async connect(sink: ChatSink) {
        await pause(150);
        return super.connect(sink);
      }
    }
    const server = new FakeForkingServer();
    const broker = ProcessHub.attach(server, { hub: new SlowHub() }) as ProcessHubBroker;
    const client = new ProcessHubClient({ channel: server.spawn(101), callTimeout: 0.05 });
    await expect(client.connect(recorder())).rejects.toThrow(/within 0\.05 s/);
    await until(() => server.received.get(101)?.length === 2, 'the disconnect of the late session');
    await pause(5);
    expect(broker.sessionCounts().size).toBe(0);
    expect(await broker.who('#lobby')).toEqual([]);
  });

  it('reports the broker’s errors to the caller; a child cannot touch another child’s session', async () => {
    const { one, two } = twoChildren();
    const sa = await one.connect(recorder());
    await expect(two.rename(sa.session, 'thief')).rejects.toThrow(`unknown chat session: ${sa.session}`);
    await expect(one.join('s999', '#x')).rejects.toThrow('unknown chat session: s999');
    await two.disconnect(sa.session, 'quit'); // ignored: not its session
    expect(await one.who('#lobby')).toEqual(['guest1']);
  });

  it('without a channel to a parent, calls fail at once and disconnect has nothing to do', async () => {
    const server = new FakeForkingServer();
    const channel = server.spawn(101);
    server.kill(101);
    const client = new ProcessHubClient({ channel });
    await expect(client.who('#lobby')).rejects.toThrow(/no IPC channel to a parent/);
    await expect(client.disconnect('s1', 'quit')).resolves.toBeUndefined();
  });
});

describe('ProcessHub.attach', () => {
  it('gives the parent one broker per server, and a child its process client', () => {
    const server = new FakeForkingServer();
    const broker = ProcessHub.attach(server);
    expect(broker).toBeInstanceOf(ProcessHubBroker);
    expect(ProcessHub.attach(server)).toBe(broker);
    expect((broker as ProcessHubBroker).hub).toBeInstanceOf(MemoryHub);
    expect(() => ProcessHub.attach(server, { hub: new MemoryHub() })).toThrow(/already has a broker/);
    expect(() => new ProcessHubBroker(server)).toThrow(/already has a process hub broker/);

    const child = Object.assign(new FakeForkingServer(), { isChild: true }) as ProcessHubServer;
    const client = ProcessHub.attach(child);
    expect(client).toBeInstanceOf(ProcessHubClient);
    expect(ProcessHub.attach(Object.assign(new FakeForkingServer(), { isChild: true }))).toBe(client);
  });

  it('refuses what is not a forking server', () => {
    expect(() => ProcessHub.attach({} as ProcessHubServer)).toThrow(
      expect.objectContaining({
        code: ErrorCodes.INVALID_ARG_TYPE,
        message: expect.stringContaining('forking server'),
      }),
    );
    expect(() => ProcessHub.attach(null as unknown as ProcessHubServer)).toThrow(TypeError);
  });

  it('validates the client options', () => {
    expect(() => new ProcessHubClient({ callTimeout: -1 })).toThrow(RangeError);
    expect(new ProcessHubClient().callTimeout).toBe(10);
  });
});
