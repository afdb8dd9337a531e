export {
  formatAddress,
  type InetAddress,
  type InetBindAddress,
  type SocketAddress,
  type UnixAddress,
} from './address.js';
export { BaseRequestHandler, type RequestHandlerClass } from './base-request-handler.js';
export {
  BaseServer,
  type BaseServerOptions,
  type ServeOptions,
  type ServerState,
  type ShutdownOptions,
} from './base-server.js';
export { DatagramRequestHandler, DatagramWriter } from './datagram-request-handler.js';
export {
  type DatagramRequest,
  DatagramServer,
  type DatagramServerOptions,
  type DatagramSocket,
} from './datagram-server.js';
export {
  ConnectionClosedError,
  type ErrorCode,
  ErrorCodes,
  IncompleteReadError,
  LineTooLongError,
  SockserveError,
  TimeoutError,
} from './errors.js';
export type { ChildExit, RefusedReason, ServerEvents } from './events.js';
export { LineFramer, type LineFramerOptions } from './line-framer.js';
export { supportsReusePort } from './node-features.js';
export { StreamReader, type StreamReaderOptions } from './stream-reader.js';
export { StreamRequestHandler } from './stream-request-handler.js';
export { StreamServer, type StreamServerOptions } from './stream-server.js';
export { StreamWriter } from './stream-writer.js';
export { TCPServer, type TCPServerOptions } from './tcp-server.js';
export {
  ThreadingMixIn,
  type ThreadingOptions,
  type ThreadingServer,
  ThreadingTCPServer,
  ThreadingUDPServer,
  ThreadingUnixDatagramServer,
  ThreadingUnixStreamServer,
} from './threading.js';
export { UDPServer, type UDPServerOptions } from './udp-server.js';
export { UnixDatagramServer, type UnixDatagramServerOptions } from './unix-datagram-server.js';
export { UnixDatagramSocket } from './unix-datagram-socket.js';
export { UnixStreamServer, type UnixStreamServerOptions } from './unix-stream-server.js';
