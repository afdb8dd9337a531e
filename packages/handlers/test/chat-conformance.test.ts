/**
 * The protocol conformance suite against the servers of this package's tests, in one process. The
 * forking server (2 children, process hub over real IPC) is in process-hub-forking.test.ts.
 */
import { ThreadingTCPServer, ThreadingUnixStreamServer } from '@sockserve/core';
import { ChatHandler, ProcessHubBroker, ProcessHubClient } from '../src/index.js';
import { ChannelHub } from './channel-hub.js';
import { type ChatServerFactory, describeChatConformance } from './chat-conformance.js';
import { FakeForkingServer } from './fake-fork.js';
import { serving, tempDir } from './helpers.js';

const threadingTCP: ChatServerFactory = {
  name: 'ThreadingTCPServer',
  async start(options) {
    const server = await serving(
      new ThreadingTCPServer({ host: '127.0.0.1', port: 0 }, ChatHandler.with(options)),
    );
    return { address: server.serverAddress, close: () => server[Symbol.asyncDispose]() };
  },
};

const threadingUnix: ChatServerFactory = {
  name: 'ThreadingUnixStreamServer',
  async start(options) {
    const dir = tempDir();
    const server = await serving(
      new ThreadingUnixStreamServer(dir.file('chat.sock'), ChatHandler.with(options)),
    );
    return {
      address: server.serverAddress,
      close: async () => {
        await server[Symbol.asyncDispose]();
        dir[Symbol.dispose]();
      },
    };
  },
};

/** The same server with a hub that answers over an ordered channel, a turn later, as IPC to a broker would. */
const threadingTCPRemoteHub: ChatServerFactory = {
  name: 'ThreadingTCPServer with a hub behind an ordered channel',
  start: (options) => threadingTCP.start({ ...options, hub: new ChannelHub() }),
};

/**
 * The same server with the process hub's client as its hub, talking to a broker over a simulated IPC
 * channel (structured clones, a turn later): the process hub's own protocol, with the whole table.
 */
const threadingTCPProcessHub: ChatServerFactory = {
  name: 'ThreadingTCPServer with a process hub client and its broker over simulated IPC',
  start(options) {
    const parent = new FakeForkingServer();
    new ProcessHubBroker(parent);
    return threadingTCP.start({ ...options, hub: new ProcessHubClient({ channel: parent.spawn(4242) }) });
  },
};

describeChatConformance(threadingTCP);
describeChatConformance(threadingUnix);
describeChatConformance(threadingTCPRemoteHub);
describeChatConformance(threadingTCPProcessHub);
