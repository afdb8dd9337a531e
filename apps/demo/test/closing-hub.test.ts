import type { ChatSink } from '@sockserve/handlers';
import { MemoryHub } from '@sockserve/handlers';
import { describe, expect, it } from 'vitest';
import { ClosingHub } from '../src/closing-hub.js';

function sink(): ChatSink & { lines: string[]; closedWith: string | undefined } {
  const record = {
    lines: [] as string[],
    closedWith: undefined as string | undefined,
    deliver: (line: string) => record.lines.push(line),
    close: (reason: string) => {
      record.closedWith = reason;
    },
  };
  return record;
}

describe('ClosingHub', () => {
  it('forwards to the hub it wraps', async () => {
    const hub = new ClosingHub(new MemoryHub());
    const alice = sink();
    const bob = sink();
    const a = await hub.connect(alice);
    await hub.connect(bob);
    await hub.sendToRoom(a.room, '<guest1> hi', a.session);
    expect(alice.lines).toEqual(['-- guest2 joined #lobby']);
    expect(bob.lines).toEqual(['<guest1> hi']);
    expect((await hub.rename(a.session, 'alice')).ok).toBe(true);
    expect((await hub.who('#lobby')).sort()).toEqual(['alice', 'guest2']);
    expect(hub.size).toBe(2);
    await hub.disconnect(a.session, 'quit');
    expect(hub.size).toBe(1);
  });

  it('closeAll tells every session, closes it, and drops what comes after', async () => {
    const hub = new ClosingHub(new MemoryHub());
    const alice = sink();
    const bob = sink();
    const a = await hub.connect(alice);
    const b = await hub.connect(bob);
    expect(hub.closeAll('server shutting down')).toBe(2);
    expect(alice.lines.at(-1)).toBe('-- server shutting down');
    expect(bob.lines.at(-1)).toBe('-- server shutting down');
    expect(alice.closedWith).toBe('server shutting down');
    // The handlers then disconnect; the others no longer hear about it.
    await hub.disconnect(a.session, 'server shutting down');
    await hub.disconnect(b.session, 'server shutting down');
    expect(bob.lines.at(-1)).toBe('-- server shutting down');
  });

  it('ends a session that connects after closeAll', async () => {
    const hub = new ClosingHub(new MemoryHub());
    hub.closeAll('server shutting down');
    const late = sink();
    await hub.connect(late);
    await new Promise((resolve) => setImmediate(resolve));
    expect(late.lines).toEqual(['-- server shutting down']);
    expect(late.closedWith).toBe('server shutting down');
  });
});
