// The TLS scenarios' certificate: made once per bench invocation with the `openssl` CLI into
// bench/.build/tls (gitignored): a self-signed ECDSA P-256 certificate for 127.0.0.1, which the
// TLS servers present and the TLS load generator trusts (as its only CA).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR } from './paths.js';

/** @type {{ key: string, cert: string } | string | undefined} */
let made;

/**
 * The key and certificate files (made on the first call of this process), or why they cannot be made.
 * @returns {{ key: string, cert: string } | string}
 */
export function tlsFiles() {
  if (made !== undefined) return made;
  const dir = path.join(BENCH_DIR, '.build', 'tls');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const key = path.join(dir, 'server.key');
  const cert = path.join(dir, 'server.crt');
  const openssl = (/** @type {string[]} */ ...args) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key);
    openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      '/CN=127.0.0.1',
      '-days',
      '2',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-out',
      cert,
    );
    made = { key, cert };
  } catch (error) {
    const detail = error instanceof Error && 'stderr' in error ? String(error.stderr).trim() : String(error);
    made = `could not make a test certificate with the openssl CLI (install openssl): ${detail}`;
  }
  return made;
}
