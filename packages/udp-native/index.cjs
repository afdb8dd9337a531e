'use strict';
// The addon built by `node-gyp rebuild` at install. Linux only (recvmmsg and sendmmsg): elsewhere it
// exports nothing, and @sockserve/core uses node:dgram alone.
const binding = require('./build/Release/udp_batch.node');

module.exports = typeof binding.open === 'function' ? binding : null;
