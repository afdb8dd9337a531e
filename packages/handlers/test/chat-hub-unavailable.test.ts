/**
 * A hub that is unreachable for a moment (Redis restarting): its methods reject with
 * `ChatHubUnavailableError`, and the handler answers `! chat is temporarily unavailable` to the line
 * that needed it, keeping the session; other errors of a hub still end the session.
 */
import { ThreadingTCPServer } from '@sockserve/core';
import { describe, expect, it } from 'vitest';
import { ChatHandler, ChatHubUnavailableError, ChatText, MemoryHub } from '../src/index.js';
import { LineClient, serving } from './helpers.js';

/** A MemoryHub that fails every call but connect/disconnect/close while `down`. */
class FlakyHub extends MemoryHub {
  down = false;
  #gate(): void {
    if (this.down) throw new ChatHubUnavailableError('test: hub down');
  }
  override async sendToRoom(room: string, text: string, except?: string | null): Promise<void> {
    this.#gate();
    return super.sendToRoom(room, text, except);
  }
  override async rename(session: string, nick: string) {
    this.#gate();
    return super.rename(session, nick);
  }
  override async who(room: string) {
    this.#gate();
    return super.who(room);
  }
}

describe('ChatHubUnavailableError', () => {
  it('is recognised by isInstance and carries its code', () => {
    const error = new ChatHubUnavailableError('down');
    expect(ChatHubUnavailableError.isInstance(error)).toBe(true);
    expect(error.code).toBe('ERR_SOCKSERVE_CHAT_HUB_UNAVAILABLE');
    expect(ChatHubUnavailableError.isInstance(new Error('down'))).toBe(false);
    expect(ChatText.UNAVAILABLE).toBe('! chat is temporarily unavailable');
  });

  it('makes the handler answer ! chat is temporarily unavailable and keep the session', async () => {
    const hub = new FlakyHub();
    await using server = await serving(
      new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler.with({ hub })),
    );
    const alice = await LineClient.connect(server.serverAddress);
    const bob = await LineClient.connect(server.serverAddress);
    try {
      expect(await alice.line()).toMatch(/^-- welcome, you are guest1/);
      expect(await bob.line()).toMatch(/^-- welcome, you are guest2/);
      expect(await alice.line()).toBe('-- guest2 joined #lobby');
      hub.down = true;
      alice.sendLine('lost in the outage');
      expect(await alice.line()).toBe('! chat is temporarily unavailable');
      alice.sendLine('/who');
      expect(await alice.line()).toBe('! chat is temporarily unavailable');
      alice.sendLine('/nick alice');
      expect(await alice.line()).toBe('! chat is temporarily unavailable');
      hub.down = false;
      alice.sendLine('back');
      expect(await bob.line()).toBe('<guest1> back');
      alice.sendLine('/who');
      expect(await alice.line()).toBe('-- online in #lobby: guest1, guest2');
    } finally {
      alice.destroy();
      bob.destroy();
    }
  });
});
