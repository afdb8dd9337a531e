/**
 * The requests a server is processing: `add`, `delete` and `size` in constant time, as a `Set`.
 *
 * Not a `Set`, because of how V8 grows and shrinks one: it moves the entries to a new hash table and
 * leaves in the old table its entries and a link to the new one. Once such a table is in old space,
 * the chain keeps every request that passed through the set (its socket, its handler and all they
 * reach) alive through scavenges until the next full collection: in the connection-rate benchmark,
 * about 0.5 µs of scavenging per connection.
 *
 * Instead an object request carries its index here under a symbol key of this instance (so a request
 * can be in two of them), as a socket carries Node's own symbol-keyed fields. Requests that cannot
 * carry one (primitives, frozen objects) are found by a linear search.
 */
export class ActiveRequests<T, V = undefined> {
  readonly #items: T[] = [];
  /** The value stored with each request, at the request's index. */
  readonly #values: (V | undefined)[] = [];
  readonly #slot = Symbol('sockserve.activeRequest');

  get size(): number {
    return this.#items.length;
  }

  /** Adds `request` with `value` (what `get` returns for it); adding it again does nothing. */
  add(request: T, value?: V): void {
    if (this.#find(request) !== -1) return;
    this.#values.push(value);
    this.#place(request, this.#items.push(request) - 1);
  }

  /** True while `request` is here. */
  has(request: T): boolean {
    return this.#find(request) !== -1;
  }

  /** The value added with `request`, or undefined when it is not here. */
  get(request: T): V | undefined {
    const index = this.#find(request);
    return index === -1 ? undefined : this.#values[index];
  }

  /** Removes `request`; false when it was not there. */
  delete(request: T): boolean {
    const index = this.#find(request);
    if (index === -1) return false;
    const last = this.#items.pop() as T;
    const lastValue = this.#values.pop();
    if (index < this.#items.length) {
      this.#items[index] = last;
      this.#values[index] = lastValue;
      this.#place(last, index);
    }
    this.#place(request, undefined);
    return true;
  }

  /** A copy of the requests, in no particular order (safe to iterate while they are removed). */
  toArray(): T[] {
    return this.#items.slice();
  }

  #find(request: T): number {
    if (!carriesSlot(request)) return this.#items.indexOf(request);
    const index = (request as Slotted)[this.#slot];
    return index === undefined ? -1 : index;
  }

  #place(request: T, index: number | undefined): void {
    if (carriesSlot(request)) (request as Slotted)[this.#slot] = index;
  }
}

type Slotted = Record<symbol, number | undefined>;

/** Objects that can take a new property; a request frozen after it was added is searched for. */
function carriesSlot(value: unknown): boolean {
  return (
    ((typeof value === 'object' && value !== null) || typeof value === 'function') &&
    Object.isExtensible(value)
  );
}
