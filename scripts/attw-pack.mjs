// `attw --pack .` without touching the package folder: packs the package in the current directory
// into a temporary directory (attw --pack writes NAME-VERSION.tgz next to package.json and deletes
// it afterwards, and with it a tarball of that name the user made with `npm pack`), then runs attw
// on that tarball with the given arguments. Used by each published package's `npm run lint`:
//
//   node ../../scripts/attw-pack.mjs --profile node16
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const temp = mkdtempSync(join(tmpdir(), 'sockserve-attw-'));
let status = 1;
try {
  const packed = JSON.parse(
    execFileSync(npm, ['pack', '--json', '--silent', '--pack-destination', temp], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const tarball = join(temp, packed[0].filename);
  const attw = spawnSync('attw', [tarball, ...process.argv.slice(2)], { stdio: 'inherit', shell: false });
  if (attw.error) throw attw.error;
  status = attw.status ?? 1;
} finally {
  rmSync(temp, { recursive: true, force: true });
}
process.exitCode = status;
