declare namespace udpNative {
  /** An open batch reader/sender on a duplicate of a bound UDP socket's descriptor. */
  type BatchHandle = { readonly __brand: 'udp-native handle' };

  /** The addon's functions; the contract of each is also written in src/udp_batch.c. */
  interface Addon {
    /** Datagrams per read, per call of `onBatch`: size `meta` for `2 * batchSize + 1` entries. */
    readonly batchSize: number;
    /**
     * Starts reading a bound UDP socket (`fd`, node:dgram's, with its own reading stopped). Each
     * readable event calls `onBatch(data, count)`: `count` datagrams packed in `data`, with datagram
     * `i`'s length in `meta[2 * i]`, its port in the low 16 bits of `meta[2 * i + 1]` (bit 16 set
     * when IPv6) and its host in `hosts[i]`. Datagrams longer than `slotSize` bytes are cut.
     * A failed read calls `onError(uvErrorCode)` (a negative errno).
     */
    open(
      fd: number,
      slotSize: number,
      meta: Uint32Array,
      hosts: string[],
      onBatch: (data: Buffer, count: number) => void,
      onError: (uvErrorCode: number) => void,
    ): BatchHandle;
    /**
     * Sends datagram `i` (`datas[i]` to `hosts[i]`:`ports[i]`) for `i` from `start` to `end - 1`, and
     * returns the index of the first one not sent (`end` when all were). `meta[2 * batchSize]` then
     * says why: its errno, or 0 when its host is not an IP literal the socket can send to.
     */
    send(
      handle: BatchHandle,
      datas: readonly Uint8Array[],
      ports: readonly number[],
      hosts: readonly string[],
      start: number,
      end: number,
    ): number;
    /** Stops reading and closes the duplicate descriptor; node:dgram's socket stays open. */
    close(handle: BatchHandle): void;
  }
}

/** The addon, or `null` on a system without recvmmsg(2) and sendmmsg(2) (anything but Linux). */
declare const udpNative: udpNative.Addon | null;

export = udpNative;
