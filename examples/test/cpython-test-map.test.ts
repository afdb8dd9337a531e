/**
 * packages/core/test/CPYTHON-TESTS.md maps every test of CPython 3.11's Lib/test/test_socketserver.py
 * to a sockserve test, and every test file it names exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAP = join(ROOT, 'packages', 'core', 'test', 'CPYTHON-TESTS.md');

/** The tests of CPython 3.11.7's Lib/test/test_socketserver.py (`grep 'def test'`). */
const CPYTHON_TESTS = [
  'test_TCPServer',
  'test_ThreadingTCPServer',
  'test_ForkingTCPServer',
  'test_UnixStreamServer',
  'test_ThreadingUnixStreamServer',
  'test_ForkingUnixStreamServer',
  'test_UDPServer',
  'test_ThreadingUDPServer',
  'test_ForkingUDPServer',
  'test_UnixDatagramServer',
  'test_ThreadingUnixDatagramServer',
  'test_ForkingUnixDatagramServer',
  'test_shutdown',
  'test_close_immediately',
  'test_tcpserver_bind_leak',
  'test_context_manager',
  'test_sync_handled',
  'test_sync_not_handled',
  'test_threading_handled',
  'test_threading_not_handled',
  'test_forking_handled',
  'test_forking_not_handled',
  'test_basics',
  'test_write',
  'test_all',
  'test_shutdown_request_called_if_verify_request_false',
  'test_threads_reaped',
];

describe('CPYTHON-TESTS.md', () => {
  const map = readFileSync(MAP, 'utf8');
  const rows = map.split('\n').filter((line) => /^\| `test_/.test(line));

  it('has a row for every CPython test', () => {
    const mapped = new Set(
      rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(test_\w+)`/g)].map((m) => m[1]!)),
    );
    expect(CPYTHON_TESTS.filter((name) => !mapped.has(name))).toEqual([]);
  });

  it('names only test files that exist, and each sockserve test named after a CPython one exists', () => {
    const files = [...map.matchAll(/`((?:[\w-]+\/)*[\w-]+\.test\.ts)`/g)].map((match) => match[1]!);
    expect(files.length).toBeGreaterThan(10);
    const missing = files.filter(
      (file) => !existsSync(join(ROOT, 'packages', 'core', 'test', file)) && !existsSync(join(ROOT, file)),
    );
    expect(missing).toEqual([]);
    const parity = readFileSync(
      join(ROOT, 'packages', 'core', 'test', 'servers', 'cpython-parity.test.ts'),
      'utf8',
    );
    const named = [...map.matchAll(/`servers\/cpython-parity\.test\.ts` > `\w+` > `(test_\w+): …`/g)].map(
      (match) => match[1]!,
    );
    expect(named.length).toBe(9);
    for (const name of named) expect(parity).toContain(`'${name}`);
  });
});
