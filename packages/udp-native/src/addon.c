// The module: one binary, built once per platform for Node-API version 8 (any Node.js from 20 on).
#include "addon.h"

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
#ifdef __linux__
  if (udp_batch_init(env, exports) != napi_ok) return NULL;
  if (sockserve_sendfile_define(env, exports) != napi_ok) return NULL;
#endif
#ifndef _WIN32
  if (unix_dgram_init(env, exports) != napi_ok) return NULL;
#endif
  return exports;
}
