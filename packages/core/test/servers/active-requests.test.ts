/**
 * The set of requests a server is processing: Set semantics without a Set (see active-requests.ts),
 * for object requests (their index rides on them), primitives and frozen objects (found by search).
 */
import { describe, expect, it } from 'vitest';
import { ActiveRequests } from '../../src/servers/active-requests.js';

describe('ActiveRequests', () => {
  it('adds, removes and counts object requests, each once', () => {
    const active = new ActiveRequests<object>();
    const [a, b, c] = [{}, {}, {}];
    active.add(a);
    active.add(b);
    active.add(c);
    active.add(b);
    expect(active.size).toBe(3);
    expect(active.delete(a)).toBe(true);
    expect(active.delete(a)).toBe(false);
    expect(active.toArray()).toHaveLength(2);
    expect(active.toArray()).toContain(b);
    expect(active.toArray()).toContain(c);
    // The one moved into a's place is still found where it now is.
    expect(active.delete(c)).toBe(true);
    expect(active.delete(b)).toBe(true);
    expect(active.size).toBe(0);
    expect(active.delete({})).toBe(false);
  });

  it('takes a request back after it was removed', () => {
    const active = new ActiveRequests<object>();
    const a = {};
    active.add(a);
    active.delete(a);
    active.add(a);
    expect(active.toArray()).toEqual([a]);
    expect(active.delete(a)).toBe(true);
    expect(active.size).toBe(0);
  });

  it("leaves the request's string keys alone", () => {
    const active = new ActiveRequests<object>();
    const request = { id: 1 };
    active.add(request);
    expect(Object.keys(request)).toEqual(['id']);
    expect(JSON.stringify(request)).toBe('{"id":1}');
    active.delete(request);
    expect(JSON.stringify(request)).toBe('{"id":1}');
  });

  it('tracks primitives and frozen objects too', () => {
    const active = new ActiveRequests<unknown>();
    const frozen = Object.freeze({ id: 1 });
    for (const request of ['x', 7, frozen, 'x', frozen]) active.add(request);
    expect(active.size).toBe(3);
    expect(active.delete(7)).toBe(true);
    expect(active.delete(frozen)).toBe(true);
    expect(active.delete(frozen)).toBe(false);
    expect(active.toArray()).toEqual(['x']);
  });

  it('finds a request frozen after it was added', () => {
    const active = new ActiveRequests<object>();
    const [a, b, c] = [{}, {}, {}];
    for (const request of [a, b, c]) active.add(request);
    Object.freeze(a);
    Object.freeze(c);
    expect(active.delete(a)).toBe(true);
    expect(active.delete(b)).toBe(true);
    expect(active.delete(c)).toBe(true);
    expect(active.size).toBe(0);
  });

  it('lets one request be in two sets', () => {
    const first = new ActiveRequests<object>();
    const second = new ActiveRequests<object>();
    const [a, b] = [{}, {}];
    first.add(b);
    first.add(a);
    second.add(a);
    expect(second.delete(a)).toBe(true);
    expect(first.toArray()).toContain(a);
    expect(first.delete(a)).toBe(true);
    expect(first.toArray()).toEqual([b]);
  });

  it('gives a copy that stays whole while the requests are removed', () => {
    const active = new ActiveRequests<object>();
    const requests = Array.from({ length: 50 }, () => ({}));
    for (const request of requests) active.add(request);
    const seen: object[] = [];
    for (const request of active.toArray()) {
      seen.push(request);
      active.delete(request);
    }
    expect(seen).toHaveLength(50);
    expect(new Set(seen)).toEqual(new Set(requests));
    expect(active.size).toBe(0);
  });

  it('stays consistent through many random adds and deletes (checked against a Set)', () => {
    const active = new ActiveRequests<object>();
    const model = new Set<object>();
    const pool = Array.from({ length: 40 }, () => ({}));
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 48271) % 2147483647; // MINSTD: exact in doubles, the same sequence every run
      return seed % n;
    };
    for (let step = 0; step < 5000; step++) {
      const request = pool[random(pool.length)]!;
      if (random(2) === 0) {
        active.add(request);
        model.add(request);
      } else {
        expect(active.delete(request)).toBe(model.delete(request));
      }
      expect(active.size).toBe(model.size);
    }
    expect(new Set(active.toArray())).toEqual(model);
  });
});
