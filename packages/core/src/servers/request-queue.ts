/**
 * The queue between a listening socket (which pushes requests as Node delivers them) and the
 * serve loop (which takes them one at a time, as socketserver's `get_request()` does).
 * Bounded by `capacity` (a datagram server's, which has no kernel backlog to wait in): `push`
 * returns false when it is full, and the server refuses that request. Stream servers pass Infinity.
 */
export class RequestQueue<T> {
  readonly #items: T[] = [];
  #head = 0;
  #waiter: ((item: T | undefined, timedOut: boolean) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** True while a taker waits (the queue is empty). */
  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  /** Hands the item to a waiting taker or queues it; false when the queue is full. */
  push(item: T): boolean {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#settle(item);
      return true;
    }
    if (this.length >= this.#capacity) return false;
    this.#items.push(item);
    return true;
  }

  /**
   * Calls `taker` once with the next item, synchronously from the `push()` that brings it (so a
   * request is dispatched from the socket event that delivered it), or with `undefined` after
   * `seconds` (`timedOut` true) or on `wake()`. Only for an empty queue; one taker at a time.
   */
  wait(taker: (item: T | undefined, timedOut: boolean) => void, seconds?: number): void {
    this.#waiter = taker;
    if (seconds !== undefined) {
      this.#timer = setTimeout(() => this.#settle(undefined, true), seconds * 1000);
    }
  }

  /** The next item without waiting, or `undefined` when empty. */
  shift(): T | undefined {
    return this.length > 0 ? this.#shift() : undefined;
  }

  /** Makes a pending `take()` resolve with `undefined` (used by shutdown). */
  wake(): void {
    if (this.#waiter !== undefined) this.#settle(undefined);
  }

  /** Removes and returns every queued item. */
  drain(): T[] {
    const rest = this.#items.slice(this.#head);
    this.#items.length = 0;
    this.#head = 0;
    return rest;
  }

  #settle(item: T | undefined, timedOut = false): void {
    const waiter = this.#waiter!;
    this.#waiter = undefined;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    waiter(item, timedOut);
  }

  #shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head += 1;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }
}
