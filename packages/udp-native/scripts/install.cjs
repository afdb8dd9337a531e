'use strict';
// The install script. With a prebuilt binary for this platform (prebuilds/, see README) there is
// nothing to do: node-gyp-build finds it and exits. Otherwise node-gyp-build compiles from source
// with node-gyp (python3, make and a C compiler). When that fails too, the package stays installed
// without its addon and the install goes on: @sockserve/core then uses node:dgram for UDP and says
// what is missing when a Unix datagram socket is asked for. An install script that failed would
// roll back the whole install, core included.
const { spawnSync } = require('node:child_process');

const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
  cwd: require('node:path').join(__dirname, '..'),
  stdio: 'inherit',
});
if (result.status !== 0) {
  process.stderr.write(
    '@sockserve/udp-native: no prebuilt binary for ' +
      `${process.platform}-${process.arch} and building from source failed (it needs python3, make ` +
      'and a C compiler). Installed without the addon: @sockserve/core uses node:dgram.\n',
  );
}
process.exit(0);
