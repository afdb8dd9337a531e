// Batched UDP I/O for Node.js: recvmmsg(2) and sendmmsg(2) on a UDP socket that node:dgram bound.
//
// node:dgram reads one datagram per recvmsg(2), allocates 64 KiB for it, and calls into JavaScript
// once per datagram; each send is a request object and a callback of its own. Here one readable
// event reads up to BATCH datagrams in one system call and hands them to JavaScript in one call:
// their bytes packed in one Buffer, their lengths and ports in a Uint32Array and their hosts in an
// array, both owned by JavaScript and reused. Replies go out many per sendmmsg(2).
//
// The socket stays node:dgram's (options, bind errors, address(), close): `open` polls a dup(2) of its
// descriptor, so the two never share a libuv watcher. JavaScript stops dgram's own reading first.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"

#define BATCH 32       // datagrams per recvmmsg(2) and per call into JavaScript
#define ROUNDS 4       // recvmmsg(2) calls per readable event, so one busy socket cannot starve the loop
#define SEND_BATCH 64  // datagrams per sendmmsg(2)
#define FAMILY_IPV6 0x10000

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int closing;        // close() was called: no more reads or sends
  int closed;         // libuv is done with the poll handle
  int handle_alive;   // JavaScript still holds the handle (an external): it frees the struct last
  size_t slot_size;
  unsigned char* arena;  // BATCH slots of slot_size bytes
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_storage addrs[BATCH];
  uint32_t* meta;  // JavaScript's Uint32Array: [length, port | FAMILY_IPV6] per datagram, then send errno
  napi_ref meta_ref, hosts_ref, on_batch_ref, on_error_ref, resource_ref, last_host_ref;
  struct sockaddr_storage last_host_addr;  // the address last_host_ref names
  napi_async_context async_context;
  int socket_family;  // AF_INET or AF_INET6
  char send_host[INET6_ADDRSTRLEN + 1];  // the host last parsed for sending, and its address
  struct sockaddr_storage send_addr;
} Socket;

#define CHECK(env, call)                                  \
  do {                                                    \
    if ((call) != napi_ok) {                              \
      napi_throw_error((env), NULL, "udp-native: " #call); \
      return NULL;                                        \
    }                                                     \
  } while (0)

static napi_value from_ref(napi_env env, napi_ref ref) {
  napi_value value = NULL;
  if (ref != NULL) napi_get_reference_value(env, ref, &value);
  return value;
}

// Calls a JavaScript callback as node's own I/O callbacks do (async context, then ticks and microtasks).
static void call_back(Socket* s, napi_ref fn_ref, size_t argc, napi_value* argv) {
  napi_env env = s->env;
  napi_status status = napi_make_callback(env, s->async_context, from_ref(env, s->resource_ref),
                                          from_ref(env, fn_ref), argc, argv, NULL);
  if (status == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);  // as an exception thrown from any I/O callback: 'uncaughtException'
  }
}

static void report_error(Socket* s, int uv_error) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  napi_value code;
  napi_create_int32(s->env, uv_error, &code);
  call_back(s, s->on_error_ref, 1, &code);
  napi_close_handle_scope(s->env, scope);
}

static int same_host(const struct sockaddr_storage* a, const struct sockaddr_storage* b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET)
    return ((const struct sockaddr_in*)a)->sin_addr.s_addr == ((const struct sockaddr_in*)b)->sin_addr.s_addr;
  const struct sockaddr_in6* a6 = (const struct sockaddr_in6*)a;
  const struct sockaddr_in6* b6 = (const struct sockaddr_in6*)b;
  return memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0 && a6->sin6_scope_id == b6->sin6_scope_id;
}

// The host as node:dgram writes it (inet_ntop, plus %scope for link-local IPv6).
static napi_value host_string(napi_env env, const struct sockaddr_storage* addr) {
  char text[INET6_ADDRSTRLEN + 16];
  if (addr->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in*)addr)->sin_addr, text, sizeof text);
  } else {
    const struct sockaddr_in6* a6 = (const struct sockaddr_in6*)addr;
    inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text);
    if (a6->sin6_scope_id != 0) {
      size_t used = strlen(text);
      snprintf(text + used, sizeof text - used, "%%%u", (unsigned)a6->sin6_scope_id);
    }
  }
  napi_value value = NULL;
  napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &value);
  return value;
}

static void deliver(Socket* s, int count) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  size_t total = 0;
  for (int i = 0; i < count; i++) total += s->msgs[i].msg_len;
  void* bytes;
  napi_value data, hosts = from_ref(env, s->hosts_ref), last_host = from_ref(env, s->last_host_ref);
  napi_create_buffer(env, total, &bytes, &data);
  int last_host_changed = 0;
  size_t offset = 0;
  for (int i = 0; i < count; i++) {
    unsigned int length = s->msgs[i].msg_len;
    memcpy((unsigned char*)bytes + offset, s->arena + (size_t)i * s->slot_size, length);
    offset += length;
    const struct sockaddr_storage* addr = &s->addrs[i];
    uint32_t port = ntohs(addr->ss_family == AF_INET ? ((const struct sockaddr_in*)addr)->sin_port
                                                      : ((const struct sockaddr_in6*)addr)->sin6_port);
    s->meta[2 * i] = length;
    s->meta[2 * i + 1] = port | (addr->ss_family == AF_INET6 ? FAMILY_IPV6 : 0);
    if (last_host == NULL || !same_host(addr, &s->last_host_addr)) {
      last_host = host_string(env, addr);
      s->last_host_addr = *addr;
      last_host_changed = 1;
    }
    napi_set_element(env, hosts, i, last_host);
  }
  if (last_host_changed) {
    if (s->last_host_ref != NULL) napi_delete_reference(env, s->last_host_ref);
    napi_create_reference(env, last_host, 1, &s->last_host_ref);
  }
  napi_value argv[2] = {data, NULL};
  napi_create_uint32(env, (uint32_t)count, &argv[1]);
  call_back(s, s->on_batch_ref, 2, argv);
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t* poll, int status, int events) {
  Socket* s = poll->data;
  (void)events;
  if (status < 0) {
    uv_poll_stop(poll);  // a broken descriptor stays broken: report it once instead of spinning
    report_error(s, status);
    return;
  }
  for (int round = 0; round < ROUNDS && !s->closing; round++) {
    for (int i = 0; i < BATCH; i++) s->msgs[i].msg_hdr.msg_namelen = sizeof s->addrs[i];
    int count = recvmmsg(s->fd, s->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (count < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) report_error(s, -errno);
      return;
    }
    deliver(s, count);
    if (count < BATCH) return;
  }
}

static void on_closed(uv_handle_t* handle) {
  Socket* s = handle->data;
  napi_env env = s->env;
  napi_ref refs[] = {s->meta_ref, s->hosts_ref, s->on_batch_ref, s->on_error_ref, s->resource_ref, s->last_host_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (refs[i] != NULL) napi_delete_reference(env, refs[i]);
  napi_async_destroy(env, s->async_context);
  free(s->arena);
  s->closed = 1;
  if (!s->handle_alive) free(s);
}

// Stops reading and closes the descriptor at once (so the port is free as soon as node:dgram closes
// its own); libuv lets go of the poll handle later, in on_closed.
static void close_socket(Socket* s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);  // also takes the descriptor out of epoll
  close(s->fd);
  uv_close((uv_handle_t*)&s->poll, on_closed);
}

static void on_env_cleanup(void* arg) {
  Socket* s = arg;
  close_socket(s);
}

// The handle was garbage-collected: close the socket if JavaScript never did, then free the struct.
static void on_handle_finalized(napi_env env, void* data, void* hint) {
  Socket* s = data;
  s->handle_alive = 0;
  if (s->closed) {
    free(s);
    return;
  }
  if (!s->closing) napi_remove_env_cleanup_hook(env, on_env_cleanup, s);
  close_socket(s);
}

// Unpacks a call whose first argument is the handle open() returned: fills argv with `count`
// arguments and returns the socket, or throws and returns NULL.
static Socket* socket_call(napi_env env, napi_callback_info info, size_t count, napi_value* argv) {
  size_t argc = count;
  void* pointer = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, NULL, "udp-native: missing arguments");
    return NULL;
  }
  if (napi_get_value_external(env, argv[0], &pointer) != napi_ok || pointer == NULL) {
    napi_throw_type_error(env, NULL, "udp-native: expected the handle returned by open()");
    return NULL;
  }
  return pointer;
}

// open(fd, slotSize, meta: Uint32Array, hosts: string[], onBatch(data, count), onError(uvError)) -> handle
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "udp-native: open(fd, slotSize, meta, hosts, onBatch, onError)");
    return NULL;
  }
  int32_t fd;
  uint32_t slot_size;
  CHECK(env, napi_get_value_int32(env, argv[0], &fd));
  CHECK(env, napi_get_value_uint32(env, argv[1], &slot_size));
  napi_typedarray_type type;
  size_t meta_length;
  void* meta;
  CHECK(env, napi_get_typedarray_info(env, argv[2], &type, &meta_length, &meta, NULL, NULL));
  if (type != napi_uint32_array || meta_length < 2 * BATCH + 1 || slot_size == 0) {
    napi_throw_range_error(env, NULL, "udp-native: meta must be a Uint32Array of 2 * batchSize + 1, slotSize > 0");
    return NULL;
  }
  struct sockaddr_storage local;
  socklen_t local_length = sizeof local;
  if (getsockname(fd, (struct sockaddr*)&local, &local_length) != 0 ||
      (local.ss_family != AF_INET && local.ss_family != AF_INET6)) {
    napi_throw_error(env, NULL, "udp-native: fd is not a bound UDP socket");
    return NULL;
  }
  Socket* s = calloc(1, sizeof *s);
  if (s == NULL || (s->arena = malloc((size_t)BATCH * slot_size)) == NULL) {
    free(s);
    napi_throw_error(env, "ENOMEM", "udp-native: out of memory for the receive buffers");
    return NULL;
  }
  s->env = env;
  s->socket_family = local.ss_family;
  s->slot_size = slot_size;
  s->meta = meta;
  s->fd = dup(fd);
  uv_loop_t* loop;
  if (s->fd < 0 || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &s->poll, s->fd) != 0) {
    if (s->fd >= 0) close(s->fd);
    free(s->arena);
    free(s);
    napi_throw_error(env, NULL, "udp-native: cannot poll the socket");
    return NULL;
  }
  s->poll.data = s;
  for (int i = 0; i < BATCH; i++) {
    s->iovs[i].iov_base = s->arena + (size_t)i * slot_size;
    s->iovs[i].iov_len = slot_size;
    s->msgs[i].msg_hdr.msg_iov = &s->iovs[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->addrs[i];
  }
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_latin1(env, "SOCKSERVE_UDP_BATCH", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &s->async_context);
  napi_create_reference(env, resource, 1, &s->resource_ref);
  napi_create_reference(env, argv[2], 1, &s->meta_ref);
  napi_create_reference(env, argv[3], 1, &s->hosts_ref);
  napi_create_reference(env, argv[4], 1, &s->on_batch_ref);
  napi_create_reference(env, argv[5], 1, &s->on_error_ref);
  napi_add_env_cleanup_hook(env, on_env_cleanup, s);
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  napi_value handle;
  s->handle_alive = 1;
  CHECK(env, napi_create_external(env, s, on_handle_finalized, NULL, &handle));
  return handle;
}

// The destination of one datagram, from a host literal; 0 if it is not one this socket can send to.
static int destination(Socket* s, napi_env env, napi_value host, uint32_t port, struct sockaddr_storage* out) {
  char text[sizeof s->send_host + 1];
  size_t length;
  if (napi_get_value_string_latin1(env, host, text, sizeof text, &length) != napi_ok || length >= sizeof s->send_host)
    return 0;
  if (strcmp(text, s->send_host) != 0) {
    struct sockaddr_storage parsed;
    memset(&parsed, 0, sizeof parsed);
    struct in_addr v4;
    if (s->socket_family == AF_INET) {
      if (inet_pton(AF_INET, text, &v4) != 1) return 0;
      ((struct sockaddr_in*)&parsed)->sin_family = AF_INET;
      ((struct sockaddr_in*)&parsed)->sin_addr = v4;
    } else {
      struct sockaddr_in6* a6 = (struct sockaddr_in6*)&parsed;
      a6->sin6_family = AF_INET6;
      if (inet_pton(AF_INET, text, &v4) == 1) {  // an IPv4 client of a dual-stack socket: ::ffff:a.b.c.d
        a6->sin6_addr.s6_addr[10] = 0xff;
        a6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&a6->sin6_addr.s6_addr[12], &v4, 4);
      } else if (inet_pton(AF_INET6, text, &a6->sin6_addr) != 1) {
        return 0;  // a scope id (%eth0) or a name: node:dgram sends it
      }
    }
    memcpy(s->send_host, text, length + 1);
    s->send_addr = parsed;
  }
  *out = s->send_addr;
  if (s->socket_family == AF_INET) ((struct sockaddr_in*)out)->sin_port = htons((uint16_t)port);
  else ((struct sockaddr_in6*)out)->sin6_port = htons((uint16_t)port);
  return 1;
}

// send(handle, datas: Uint8Array[], ports: number[], hosts: string[], start, end) -> index
// Sends datagrams start..end-1 and returns the index of the first one not sent (end when all were).
// Then meta's last element holds why: its errno, or 0 when its host is not an IP literal.
static napi_value Send(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Socket* s = socket_call(env, info, 6, argv);
  if (s == NULL) return NULL;
  uint32_t start, end;
  CHECK(env, napi_get_value_uint32(env, argv[4], &start));
  CHECK(env, napi_get_value_uint32(env, argv[5], &end));
  struct mmsghdr msgs[SEND_BATCH];
  struct iovec iovs[SEND_BATCH];
  struct sockaddr_storage addrs[SEND_BATCH];
  uint32_t next = start;
  s->meta[2 * BATCH] = 0;
  while (next < end && !s->closing) {
    int count = 0;
    for (uint32_t i = next; i < end && count < SEND_BATCH; i++, count++) {
      napi_value data, port_value, host;
      uint32_t port;
      napi_typedarray_type type;
      size_t length;
      void* bytes;
      if (napi_get_element(env, argv[1], i, &data) != napi_ok ||
          napi_get_typedarray_info(env, data, &type, &length, &bytes, NULL, NULL) != napi_ok ||
          type != napi_uint8_array || napi_get_element(env, argv[2], i, &port_value) != napi_ok ||
          napi_get_value_uint32(env, port_value, &port) != napi_ok ||
          napi_get_element(env, argv[3], i, &host) != napi_ok ||
          port > 65535 || !destination(s, env, host, port, &addrs[count]))
        break;
      iovs[count].iov_base = bytes;
      iovs[count].iov_len = length;
      memset(&msgs[count].msg_hdr, 0, sizeof msgs[count].msg_hdr);
      msgs[count].msg_hdr.msg_name = &addrs[count];
      msgs[count].msg_hdr.msg_namelen =
          s->socket_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
      msgs[count].msg_hdr.msg_iov = &iovs[count];
      msgs[count].msg_hdr.msg_iovlen = 1;
    }
    if (count == 0) break;  // datagram `next` is not one for sendmmsg: the caller sends it
    int sent = 0;
    while (sent < count) {
      int result = sendmmsg(s->fd, msgs + sent, (unsigned)(count - sent), MSG_DONTWAIT);
      if (result < 0) {
        if (errno == EINTR) continue;
        s->meta[2 * BATCH] = (uint32_t)errno;
        break;
      }
      sent += result;
    }
    next += (uint32_t)sent;
    if (sent < count) break;
  }
  napi_value result;
  CHECK(env, napi_create_uint32(env, next, &result));
  return result;
}

// close(handle): stops reading and closes the duplicated descriptor (node:dgram's stays open).
static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Socket* s = socket_call(env, info, 1, argv);
  if (s == NULL) return NULL;
  if (!s->closing) napi_remove_env_cleanup_hook(env, on_env_cleanup, s);
  close_socket(s);
  return NULL;
}

napi_status udp_batch_init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, Send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value batch_size;
  napi_status status = napi_create_uint32(env, BATCH, &batch_size);
  if (status == napi_ok)
    status = napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  if (status == napi_ok) status = napi_set_named_property(env, exports, "batchSize", batch_size);
  return status;
}
