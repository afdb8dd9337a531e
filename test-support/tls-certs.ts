/**
 * Test certificates, made with the `openssl` CLI in a temporary directory (no network): a CA, two
 * server certificates it signed (for `localhost` and 127.0.0.1; the second for rotation), a client
 * certificate it signed, and a client certificate from another CA (a wrong one).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  key: string;
  cert: string;
}

export interface TestCerts {
  /** Directory holding every file as `<name>.key` / `<name>.crt` (`ca`, `server`, `server2`, `client`, `rogue`). */
  dir: string;
  ca: string;
  server: Pem;
  server2: Pem;
  client: Pem;
  /** A client certificate signed by another CA. */
  rogue: Pem;
  [Symbol.dispose](): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function signed(dir: string, name: string, ca: string, subject: string, ext: string): void {
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  );
}

function authority(dir: string, name: string, subject: string): void {
  openssl(dir, 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
  openssl(
    dir,
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-subj',
    subject,
    '-days',
    '2',
    '-out',
    `${name}.crt`,
  );
}

/** Makes the certificates (a fraction of a second); dispose to remove them. */
export function makeTestCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'sockserve-tls-'));
  const serverExt = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  authority(dir, 'ca', '/CN=sockserve test CA');
  authority(dir, 'rogue-ca', '/CN=someone else');
  signed(dir, 'server', 'ca', '/CN=localhost', serverExt);
  signed(dir, 'server2', 'ca', '/CN=localhost rotated', serverExt);
  signed(dir, 'client', 'ca', '/CN=good client', clientExt);
  signed(dir, 'rogue', 'rogue-ca', '/CN=rogue client', clientExt);
  const pem = (name: string): Pem => ({
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  });
  return {
    dir,
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    server: pem('server'),
    server2: pem('server2'),
    client: pem('client'),
    rogue: pem('rogue'),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}
