export {
  formatAddress,
  type InetAddress,
  type InetBindAddress,
  type SocketAddress,
  TCPAddress,
  UDPAddress,
  type UnixAddress,
  UnixSocketAddress,
} from './address.js';
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
export {
  BaseRequestHandler,
  type ClientAddressOf,
  type RequestHandlerClass,
  type RequestOf,
  type ServerOf,
} from './handlers/base-request-handler.js';
export { DatagramRequestHandler, DatagramWriter } from './handlers/datagram-request-handler.js';
export { StreamRequestHandler } from './handlers/stream-request-handler.js';
export { LineFramer, type LineFramerOptions } from './io/line-framer.js';
export { StreamReader, type StreamReaderOptions } from './io/stream-reader.js';
export { type SendfileSource, StreamWriter, type StreamWriterOptions } from './io/stream-writer.js';
export {
  ForkingMixIn,
  type ForkingOptions,
  type ForkingServer,
  ForkingTCPServer,
  ForkingUDPServer,
  ForkingUnixDatagramServer,
  ForkingUnixStreamServer,
  type HandlerModule,
  isForkChild,
} from './mixins/forking/forking.js';
export {
  ThreadingMixIn,
  type ThreadingOptions,
  type ThreadingServer,
  ThreadingTCPServer,
  ThreadingUDPServer,
  ThreadingUnixDatagramServer,
  ThreadingUnixStreamServer,
} from './mixins/threading.js';
export { supportsReusePort } from './node-features.js';
export {
  type AddressFamily,
  BaseServer,
  type BaseServerOptions,
  type ServeOptions,
  type ServerState,
  type ShutdownOptions,
  type SocketType,
} from './servers/base-server.js';
export {
  type DatagramRequest,
  DatagramServer,
  type DatagramServerOptions,
  type DatagramSocket,
} from './servers/datagram-server.js';
export { PeerAddress } from './servers/peer-address.js';
export type { ListeningDescriptor } from './servers/socket-fd.js';
export { StreamServer, type StreamServerOptions } from './servers/stream-server.js';
export { TCPServer, type TCPServerOptions } from './servers/tcp-server.js';
export type { TLSFailure, TLSOptions } from './servers/tls.js';
export { UDPServer, type UDPServerOptions } from './servers/udp-server.js';
export { UnixDatagramServer, type UnixDatagramServerOptions } from './servers/unix-datagram-server.js';
export { UnixDatagramSocket } from './servers/unix-datagram-socket.js';
export { UnixStreamServer, type UnixStreamServerOptions } from './servers/unix-stream-server.js';
