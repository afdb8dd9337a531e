/**
 * `EchoDatagramHandler`: RFC 862 echo over datagram sockets (UDP, Unix datagram).
 */
import { DatagramRequestHandler } from '@sockserve/core';

/**
 * Sends each datagram back to its sender unchanged (RFC 862), the empty datagram included, up to the
 * largest UDP payload (65507 bytes over IPv4). The reply is sent by `finish()` like any
 * `DatagramRequestHandler` reply, so a subclass may add to `wfile` before it goes.
 *
 * Over Unix datagram sockets only a client bound to a path can be answered.
 */
export class EchoDatagramHandler extends DatagramRequestHandler {
  override handle(): void {
    void this.wfile.write(this.packet);
  }
}
