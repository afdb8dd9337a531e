// The parts of the addon: each adds its functions to the module's exports (see addon.c).
#ifndef SOCKSERVE_ADDON_H
#define SOCKSERVE_ADDON_H
#define NAPI_VERSION 8
#include <node_api.h>

// Batched UDP I/O (udp_batch.c, Linux only): open, send, close, batchSize.
napi_status udp_batch_init(napi_env env, napi_value exports);
// Zero-copy file sending (sendfile.c, Linux only): sendfileStart, sendfileCancel.
napi_status sockserve_sendfile_define(napi_env env, napi_value exports);
// Unix datagram sockets (unix_dgram.c): unixSocket, unixBind, unixConnect, unixSendTo, unixReceive, unixClose.
napi_status unix_dgram_init(napi_env env, napi_value exports);

#endif
