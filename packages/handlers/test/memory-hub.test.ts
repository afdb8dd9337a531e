/** MemoryHub: the ChatHub contract, checked directly (no sockets). */
import { describe, expect, it } from 'vitest';
import { type ChatSink, MemoryHub } from '../src/index.js';

/** A sink that records what it is given. */
function recorder(): ChatSink & { lines: string[]; closed: string[] } {
  const lines: string[] = [];
  const closed: string[] = [];
  return { lines, closed, deliver: (line) => lines.push(line), close: (reason) => closed.push(reason) };
}

describe('MemoryHub', () => {
  it('connect gives guest1, guest2, … in #lobby and tells the lobby', async () => {
    const hub = new MemoryHub();
    const a = recorder();
    const b = recorder();
    const first = await hub.connect(a);
    expect(first).toMatchObject({ nick: 'guest1', room: '#lobby' });
    const second = await hub.connect(b);
    expect(second).toMatchObject({ nick: 'guest2', room: '#lobby' });
    expect(second.session).not.toBe(first.session);
    expect(a.lines).toEqual(['-- guest2 joined #lobby']);
    expect(b.lines).toEqual([]);
  });

  it('gives the first free guestN, also after renames and with guestN taken by hand', async () => {
    const hub = new MemoryHub();
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push(await hub.connect(recorder()));
    await hub.disconnect(sessions[1]!.session, 'quit'); // frees guest2
    await hub.disconnect(sessions[2]!.session, 'quit'); // frees guest3
    expect((await hub.connect(recorder())).nick).toBe('guest2');
    const renamed = await hub.rename(sessions[0]!.session, 'alice'); // frees guest1
    expect(renamed).toEqual({ ok: true, nick: 'alice', previous: 'guest1' });
    await hub.rename(sessions[3]!.session, 'GUEST1'); // guest4 takes guest1 (case-insensitively) by hand
    expect((await hub.connect(recorder())).nick).toBe('guest3');
    expect((await hub.connect(recorder())).nick).toBe('guest4');
    expect((await hub.connect(recorder())).nick).toBe('guest5');
  });

  it('rename is atomic and case-insensitive; renaming to oneself in another case works', async () => {
    const hub = new MemoryHub();
    const a = recorder();
    const b = recorder();
    const sa = (await hub.connect(a)).session;
    const sb = (await hub.connect(b)).session;
    const claims = await Promise.all([hub.rename(sa, 'Bob'), hub.rename(sb, 'bob')]);
    expect(claims).toEqual([
      { ok: true, nick: 'Bob', previous: 'guest1' },
      { ok: false, reason: 'taken' },
    ]);
    expect(await hub.rename(sa, 'BOB')).toEqual({ ok: true, nick: 'BOB', previous: 'Bob' });
    expect(b.lines).toEqual(['-- guest1 is now known as Bob', '-- Bob is now known as BOB']);
    // The same name again: accepted, nothing announced.
    expect(await hub.rename(sa, 'BOB')).toEqual({ ok: true, nick: 'BOB', previous: 'BOB' });
    expect(b.lines).toHaveLength(2);
    expect(await hub.sendToUser('bob', 'psst')).toBe('BOB');
    expect(a.lines.at(-1)).toBe('psst');
  });

  it('join moves a session, tells both rooms and returns the members; rejoining changes nothing', async () => {
    const hub = new MemoryHub();
    const a = recorder();
    const b = recorder();
    const c = recorder();
    const sa = (await hub.connect(a)).session;
    await hub.connect(b);
    const sc = (await hub.connect(c)).session;
    a.lines.length = 0;
    b.lines.length = 0;
    expect(await hub.join(sa, '#Dev')).toEqual({ room: '#Dev', previous: '#lobby', members: ['guest1'] });
    expect(b.lines).toEqual(['-- guest1 left #lobby (joined #Dev)']);
    const joined = await hub.join(sc, '#dev');
    expect(joined).toMatchObject({ room: '#Dev', previous: '#lobby' });
    expect(joined.members.sort()).toEqual(['guest1', 'guest3']);
    expect(a.lines).toEqual(['-- guest3 joined #Dev']);
    expect(await hub.join(sc, '#DEV')).toMatchObject({ room: '#Dev', previous: null });
    expect(a.lines).toHaveLength(1);
    expect((await hub.rooms()).sort((x, y) => x.room.localeCompare(y.room))).toEqual([
      { room: '#Dev', members: 2 },
      { room: '#lobby', members: 1 },
    ]);
  });

  it('who and rooms list members; an empty room disappears', async () => {
    const hub = new MemoryHub();
    const sa = (await hub.connect(recorder())).session;
    await hub.connect(recorder());
    expect((await hub.who('#LOBBY')).sort()).toEqual(['guest1', 'guest2']);
    await hub.join(sa, '#solo');
    expect(await hub.who('#solo')).toEqual(['guest1']);
    await hub.join(sa, '#lobby');
    expect(await hub.who('#solo')).toEqual([]);
    expect(await hub.rooms()).toEqual([{ room: '#lobby', members: 2 }]);
  });

  it('sendToRoom skips the sender; sendToUser answers the nickname or null', async () => {
    const hub = new MemoryHub();
    const a = recorder();
    const b = recorder();
    const sa = (await hub.connect(a)).session;
    await hub.connect(b);
    a.lines.length = 0;
    await hub.sendToRoom('#lobby', '<guest1> hi', sa);
    await hub.sendToRoom('#nowhere', 'lost');
    expect(a.lines).toEqual([]);
    expect(b.lines).toEqual(['<guest1> hi']);
    expect(await hub.sendToUser('GUEST2', '[guest1 -> you] x')).toBe('guest2');
    expect(await hub.sendToUser('nobody', 'x')).toBeNull();
    expect(b.lines.at(-1)).toBe('[guest1 -> you] x');
  });

  it('disconnect frees the nickname, tells the room, and is safe to repeat', async () => {
    const hub = new MemoryHub();
    const a = recorder();
    const b = recorder();
    await hub.connect(a);
    const sb = (await hub.connect(b)).session;
    await hub.rename(sb, 'bob');
    await hub.disconnect(sb, 'too slow');
    await hub.disconnect(sb, 'again');
    await hub.disconnect('never-existed', 'x');
    expect(a.lines).toEqual([
      '-- guest2 joined #lobby',
      '-- guest2 is now known as bob',
      '-- bob left #lobby (too slow)',
    ]);
    expect(await hub.sendToUser('bob', 'x')).toBeNull();
    await expect(hub.rename(sb, 'zombie')).rejects.toThrow('unknown chat session');
    await expect(hub.join(sb, '#x')).rejects.toThrow('unknown chat session');
  });

  it('a sink that throws does not stop delivery to the others', async () => {
    const hub = new MemoryHub();
    const broken: ChatSink = {
      deliver: () => {
        throw new Error('broken sink');
      },
      close: () => {},
    };
    const a = recorder();
    await hub.connect(broken);
    const sa = (await hub.connect(a)).session;
    const c = recorder();
    await hub.connect(c);
    await hub.sendToRoom('#lobby', 'line', sa);
    expect(c.lines).toEqual(['line']);
  });

  it('answers with plain values that survive structured cloning (they may cross processes)', async () => {
    const hub = new MemoryHub();
    const welcome = await hub.connect(recorder());
    const answers = [
      welcome,
      await hub.rename(welcome.session, 'alice'),
      await hub.join(welcome.session, '#x'),
      await hub.who('#x'),
      await hub.rooms(),
      await hub.sendToUser('alice', 'x'),
    ];
    for (const answer of answers) expect(JSON.parse(JSON.stringify(answer))).toEqual(answer);
  });

  it('close(notice): every session gets the notice last and is closed; nothing after; a later one too', async () => {
    const hub = new MemoryHub();
    const a = recorder();
    const b = recorder();
    const sa = (await hub.connect(a)).session;
    await hub.connect(b);
    await hub.close('-- server shutting down');
    expect(a.lines).toEqual(['-- guest2 joined #lobby', '-- server shutting down']);
    expect(b.lines).toEqual(['-- server shutting down']);
    expect([a.closed, b.closed]).toEqual([['connection closed'], ['connection closed']]);
    // The handlers disconnect: the others are not told any more.
    await hub.disconnect(sa, 'connection closed');
    await hub.sendToRoom('#lobby', '<x> late');
    expect(b.lines).toEqual(['-- server shutting down']);
    // Safe twice; a session that connects afterwards is welcomed, told and closed at once.
    await hub.close('-- again');
    const late = recorder();
    expect(await hub.connect(late)).toMatchObject({ nick: 'guest1' });
    expect(late.lines).toEqual(['-- server shutting down']);
    expect(late.closed).toEqual(['connection closed']);
    await expect(hub.close(42 as unknown as string)).rejects.toThrow(TypeError);
  });

  it('close() without a notice closes every session silently', async () => {
    const hub = new MemoryHub();
    const a = recorder();
    await hub.connect(a);
    await hub.close();
    expect(a.lines).toEqual([]);
    expect(a.closed).toEqual(['connection closed']);
  });
});
