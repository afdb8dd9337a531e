declare namespace udpNative {
  /** An open batch reader/sender on a duplicate of a bound UDP socket's descriptor. */
  type BatchHandle = {
    /** Only a type tag: a handle is opaque, made by `open()`. */
    readonly __brand: 'udp-native handle';
  };

  /**
   * Batched UDP I/O (Linux only: recvmmsg and sendmmsg); the contract of each function is also
   * written in src/udp_batch.c.
   */
  interface BatchAddon {
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

  /** An open Unix datagram socket. */
  type UnixHandle = {
    /** Only a type tag: a socket handle is opaque, made by the addon. */
    readonly __brand: 'udp-native unix socket';
  };

  /**
   * Unix datagram sockets (AF_UNIX, SOCK_DGRAM; any POSIX system). A failed system call returns its
   * negative errno (libuv's error code) instead of throwing. Contract: src/unix_dgram.c.
   */
  interface UnixDgramAddon {
    /** Bytes read per datagram: longer datagrams arrive cut to this size (65536). */
    readonly unixReceiveSize: number;
    /** A new non-blocking socket, not bound and not reading, or a negative errno. */
    unixSocket(): UnixHandle | number;
    /** Binds the socket to `path`: 0, or a negative errno (ENAMETOOLONG when it does not fit). */
    unixBind(handle: UnixHandle, path: string): number;
    /** Sets the socket's default peer (sends nothing): 0, or a negative errno (ECONNREFUSED, ENOENT). */
    unixConnect(handle: UnixHandle, path: string): number;
    /** Sends one datagram to `path` without waiting: 0, or a negative errno (EAGAIN when full). */
    unixSendTo(handle: UnixHandle, data: Uint8Array, path: string): number;
    /**
     * Starts reading: `onMessage` gets each datagram and its sender's path ('' when the sender is
     * unbound), `onError` a failed read (a negative errno). A reading socket keeps the event loop
     * alive until closed. Returns 0 or a negative errno.
     */
    unixReceive(
      handle: UnixHandle,
      onMessage: (data: Buffer, senderPath: string) => void,
      onError: (uvErrorCode: number) => void,
    ): number;
    /** Stops reading and closes the socket; safe to call more than once. */
    unixClose(handle: UnixHandle): void;
  }

  /** The whole addon on Linux. */
  type Addon = BatchAddon & UnixDgramAddon;
}

/**
 * The addon. Its batch functions (`open`, `send`, `close`, `batchSize`) exist on Linux only, its
 * Unix datagram functions everywhere but Windows (where, built from source, it exports nothing).
 * Loading it throws when no prebuilt binary matches this platform and none was built at install.
 */
declare const udpNative: Partial<udpNative.BatchAddon> & udpNative.UnixDgramAddon;

export = udpNative;
