export { ChatHandler, type ChatHandlerOptions } from './chat-handler.js';
export type {
  ChatHub,
  ChatJoinResult,
  ChatRenameResult,
  ChatRoomSummary,
  ChatSessionId,
  ChatSink,
  ChatWelcome,
} from './chat-hub.js';
export { CHAT_HUB_UNAVAILABLE, ChatHubUnavailableError } from './chat-hub-unavailable.js';
export * as ChatNames from './chat-names.js';
export * as ChatText from './chat-text.js';
export { EchoDatagramHandler } from './echo-datagram-handler.js';
export { EchoStreamHandler } from './echo-stream-handler.js';
export { MemoryHub } from './memory-hub.js';
export {
  ProcessHub,
  ProcessHubBroker,
  type ProcessHubChannel,
  ProcessHubClient,
  type ProcessHubClientOptions,
  type ProcessHubOptions,
  type ProcessHubServer,
} from './process-hub.js';
