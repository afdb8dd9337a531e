/**
 * Batched UDP I/O: a bound `dgram.Socket` reads and sends many datagrams per system call (recvmmsg,
 * sendmmsg) through the optional native package `@sockserve/udp-native` (Linux).
 *
 * node:dgram reads one datagram per system call into a fresh 64 KiB buffer and calls into JavaScript
 * once per datagram, and each send is a request object with a callback of its own. With the addon, a
 * readable socket gives JavaScript up to 32 datagrams in one call, packed in one Buffer, and a turn's
 * replies leave in one sendmmsg (see the benchmark: UDP echo).
 *
 * The socket stays node:dgram's: it binds, reports its address, takes options and closes as before;
 * the addon polls a duplicate of its descriptor after dgram's own reading is stopped (its handle,
 * found by the name of dgram's state symbol). When the addon or any of that is missing, `openBatch`
 * returns null and the server uses node:dgram alone; handlers see the same requests either way.
 */

import type dgram from 'node:dgram';
import { constants } from 'node:os';
import type udpNative from '@sockserve/udp-native';
import { type InetAddress, UDPAddress } from '../address.js';
import { systemCallError } from '../errors.js';
import { loadNativeAddon } from './native-addon.js';

/** `@sockserve/udp-native` (an optional peer: its types only, at build time). */
type UdpNative = udpNative.Addon;
type NativeHandle = udpNative.BatchHandle;

/** The part of dgram's internal state this module uses. */
interface DgramHandle {
  fd?: number;
  recvStop?: () => number;
}

const FAMILY_IPV6 = 0x10000;
const PORT_MASK = 0xffff;
const { EAGAIN, ENOBUFS } = constants.errno;

/** The addon, loaded once; null when it is not installed, did not build, or this is not Linux. */
export function loadUdpNative(): UdpNative | null {
  const { addon } = loadNativeAddon();
  return typeof addon?.open === 'function' ? (addon as UdpNative) : null;
}

function dgramHandle(socket: dgram.Socket): DgramHandle | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state && (socket as unknown as Record<symbol, { handle?: DgramHandle }>)[state]?.handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 && typeof handle.recvStop === 'function'
    ? handle
    : undefined;
}

/** Builds the error node:dgram would report for a failed system call (a send names its address). */
function systemError(syscall: string, uvErrorCode: number, to?: { host: string; port: number }): Error {
  if (to === undefined) return systemCallError(syscall, uvErrorCode, '', {});
  return systemCallError(syscall, uvErrorCode, `${to.host}:${to.port}`, { address: to.host, port: to.port });
}

/** Datagrams for one sendmmsg: parallel arrays, as the addon reads them. */
export class Outbox {
  readonly datas: Uint8Array[] = [];
  readonly ports: number[] = [];
  readonly hosts: string[] = [];
  readonly callbacks: ((error: Error | null) => void)[] = [];

  /** Adds a datagram; returns how many are queued. */
  push(data: Uint8Array, address: InetAddress, callback: (error: Error | null) => void): number {
    this.datas.push(data);
    this.ports.push(address.port);
    this.hosts.push(address.host);
    return this.callbacks.push(callback);
  }
}

/** A socket's batched reading and sending; `close()` it before the socket. */
export class DatagramBatch {
  readonly #native: UdpNative;
  readonly #handle: NativeHandle;
  readonly #meta: Uint32Array;
  readonly #hosts: string[] = [];
  #open = true;

  /**
   * Reads the socket `fd` in batches (its owner stops its own reading): `receive` gets each datagram
   * (at most `maxPacketSize` bytes of it), `onError` a failed read.
   */
  constructor(
    addon: UdpNative,
    fd: number,
    maxPacketSize: number,
    receive: (packet: Buffer, clientAddress: InetAddress) => void,
    onError: (error: Error) => void,
  ) {
    this.#native = addon;
    const meta = new Uint32Array(2 * addon.batchSize + 1);
    const hosts = this.#hosts;
    this.#meta = meta;
    this.#handle = addon.open(
      fd,
      maxPacketSize,
      meta,
      hosts,
      (data, count) => {
        let offset = 0;
        for (let i = 0; i < count && this.#open; i++) {
          const portAndFamily = meta[2 * i + 1]!;
          const end = offset + meta[2 * i]!;
          receive(
            data.subarray(offset, end),
            new UDPAddress(
              hosts[i]!,
              portAndFamily & PORT_MASK,
              portAndFamily & FAMILY_IPV6 ? 'IPv6' : 'IPv4',
            ),
          );
          offset = end;
        }
      },
      (code) => onError(systemError('recvmmsg', code)),
    );
  }

  /**
   * Sends the outbox's datagrams from `start` on, many per system call, and calls their callbacks.
   * Returns the index of the first one left for node:dgram to send (the outbox's length when none
   * is): one whose host is not an IP literal, or all the rest when the socket's send buffer is full.
   */
  send(outbox: Outbox, start: number): number {
    const { datas, ports, hosts, callbacks } = outbox;
    const end = datas.length;
    let next = start;
    while (next < end && this.#open) {
      const stop = this.#native.send(this.#handle, datas, ports, hosts, next, end);
      for (; next < stop; next++) callbacks[next]!(null);
      if (stop === end) break;
      const errno = this.#meta[this.#meta.length - 1]!;
      if (errno === 0 || errno === EAGAIN || errno === ENOBUFS) break;
      callbacks[next]!(systemError('send', -errno, { host: hosts[next]!, port: ports[next]! }));
      next++;
    }
    return next;
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#native.close(this.#handle);
  }
}

/**
 * Reads and sends `socket`'s datagrams in batches when `@sockserve/udp-native` is available and
 * node:dgram's internals are as expected; otherwise returns null and leaves the socket as it is.
 * Call it right after binding, before the event loop runs: dgram's own reading is stopped.
 */
export function openBatch(
  socket: dgram.Socket,
  maxPacketSize: number,
  receive: (packet: Buffer, clientAddress: InetAddress) => void,
  onError: (error: Error) => void,
): DatagramBatch | null {
  const addon = loadUdpNative();
  const handle = addon && dgramHandle(socket);
  if (!addon || !handle) return null;
  const batch = new DatagramBatch(addon, handle.fd!, maxPacketSize, receive, onError);
  handle.recvStop!();
  return batch;
}
