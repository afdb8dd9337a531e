'use strict';
// The addon: a prebuilt binary from prebuilds/ (linux-x64, glibc and musl), or the one node-gyp built
// at install (build/Release/) on other systems. Throws when there is neither; @sockserve/core then
// uses node:dgram for UDP and explains what is missing when a Unix datagram socket is asked for.
module.exports = require('node-gyp-build')(__dirname);
