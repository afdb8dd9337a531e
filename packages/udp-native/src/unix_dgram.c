// Unix datagram sockets (AF_UNIX, SOCK_DGRAM) for Node.js, which has none: socket(2), bind(2),
// connect(2), sendto(2), and reading on Node's event loop (a libuv poll handle on the descriptor).
// POSIX only (Linux, macOS, the BSDs).
//
// Contract (JavaScript sees it in index.d.cts). Every call but unixSocket returns 0 or a negative
// errno (libuv's error codes on Unix), never throws for a system error:
//   unixSocket() -> handle | -errno          a non-blocking, close-on-exec socket, not yet reading
//   unixBind(handle, path) -> 0 | -errno     ENAMETOOLONG when path does not fit in sun_path
//   unixConnect(handle, path) -> 0 | -errno  sets the default peer; sends nothing
//   unixSendTo(handle, data, path) -> 0 | -errno   EAGAIN when the receiver's queue or our buffer is full
//   unixReceive(handle, onMessage(data, senderPath), onError(-errno)) -> 0 | -errno
//       reads every datagram that arrives, up to RECEIVE_ROUNDS * SLOTS per readable event; senderPath is ''
//       for an unbound or abstract sender; datagrams longer than unixReceiveSize bytes are cut.
//   unixClose(handle)                        stops reading and closes; safe to call more than once
// A socket that reads keeps the event loop alive, and its handle from the garbage collector, until
// it is closed; one that only sends does neither (an unreachable handle is closed when collected).
#ifdef __linux__
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"

#define RECEIVE_SIZE 65536  // bytes read per datagram: longer ones are cut, as unix-dgram did
#ifdef __linux__
#define SLOTS 2  // datagrams per recvmmsg(2): a lone one costs one system call, a queue half as many
#else
#define SLOTS 1
#endif
#define RECEIVE_ROUNDS 32  // reads per readable event, so one busy socket cannot starve the loop
#define PATH_ARGUMENT_SIZE 1024

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int reading;       // unixReceive was called
  int closing;       // unixClose was called (or the environment is going away)
  int closed;        // libuv is done with the poll handle
  int handle_alive;  // JavaScript still holds the handle: the finalizer frees the struct last
  unsigned char* buffer;  // SLOTS * RECEIVE_SIZE bytes, while reading
  napi_ref on_message_ref, on_error_ref, resource_ref;
  napi_ref self_ref;         // the handle, while reading: a reading socket is not garbage until closed
  napi_ref last_sender_ref;  // the string made for the last sender, reused while it sends again
  size_t last_sender_size;
  char last_sender[sizeof(((struct sockaddr_un*)0)->sun_path)];
  napi_async_context async_context;
} UnixSocket;

static napi_value from_ref(napi_env env, napi_ref ref) {
  napi_value value = NULL;
  if (ref != NULL) napi_get_reference_value(env, ref, &value);
  return value;
}

static napi_value int_value(napi_env env, int number) {
  napi_value value = NULL;
  napi_create_int32(env, number, &value);
  return value;
}

// Calls a JavaScript callback as Node's own I/O callbacks do (async context, then ticks and microtasks);
// an exception it throws becomes an 'uncaughtException', as from any I/O callback.
static void call_back(UnixSocket* s, napi_ref fn_ref, size_t argc, napi_value* argv) {
  napi_env env = s->env;
  napi_status status = napi_make_callback(env, s->async_context, from_ref(env, s->resource_ref),
                                          from_ref(env, fn_ref), argc, argv, NULL);
  if (status == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

// The path of a sender, as a string: '' when it is unbound or abstract (Linux's sun_path[0] == 0).
// The string made for the last sender is reused while the same sender goes on sending.
static napi_value sender_path(UnixSocket* s, const struct sockaddr_un* from, socklen_t length) {
  napi_env env = s->env;
  size_t offset = offsetof(struct sockaddr_un, sun_path);
  size_t size = 0;
  if (length > offset && from->sun_path[0] != '\0') {
    size_t max = length - offset;
    if (max > sizeof from->sun_path) max = sizeof from->sun_path;
    while (size < max && from->sun_path[size] != '\0') size++;
  }
  napi_value value = NULL;
  if (s->last_sender_ref != NULL && size == s->last_sender_size && memcmp(from->sun_path, s->last_sender, size) == 0) {
    napi_get_reference_value(env, s->last_sender_ref, &value);
    if (value != NULL) return value;
  }
  napi_create_string_utf8(env, from->sun_path, size, &value);
  if (s->last_sender_ref != NULL) napi_delete_reference(env, s->last_sender_ref);
  s->last_sender_ref = NULL;
  if (value != NULL && napi_create_reference(env, value, 1, &s->last_sender_ref) == napi_ok) {
    memcpy(s->last_sender, from->sun_path, size);
    s->last_sender_size = size;
  }
  return value;
}

// Reads up to SLOTS datagrams in one system call: recvmmsg(2) on Linux, recvfrom(2) elsewhere.
// Returns how many it read (0 when none was waiting), or a negative errno.
static int read_some(UnixSocket* s, struct sockaddr_un* from, socklen_t* from_length, size_t* length) {
#ifdef __linux__
  struct mmsghdr msgs[SLOTS];
  struct iovec iovs[SLOTS];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < SLOTS; i++) {
    iovs[i].iov_base = s->buffer + (size_t)i * RECEIVE_SIZE;
    iovs[i].iov_len = RECEIVE_SIZE;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
  }
  int count;
  do count = recvmmsg(s->fd, msgs, SLOTS, MSG_DONTWAIT, NULL);
  while (count < 0 && errno == EINTR);
  if (count < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  for (int i = 0; i < count; i++) {
    from_length[i] = msgs[i].msg_hdr.msg_namelen;
    length[i] = msgs[i].msg_len;
  }
  return count;
#else
  ssize_t got;
  from_length[0] = sizeof from[0];
  do got = recvfrom(s->fd, s->buffer, RECEIVE_SIZE, MSG_DONTWAIT, (struct sockaddr*)&from[0], &from_length[0]);
  while (got < 0 && errno == EINTR);
  if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  length[0] = (size_t)got;
  return 1;
#endif
}

static void on_readable(uv_poll_t* poll, int status, int events) {
  UnixSocket* s = poll->data;
  napi_env env = s->env;
  (void)events;
  if (status < 0) uv_poll_stop(poll);  // a broken descriptor stays broken: report it once instead of spinning
  for (int round = 0; round < RECEIVE_ROUNDS && !s->closing; round++) {
    struct sockaddr_un from[SLOTS];
    socklen_t from_length[SLOTS];
    size_t length[SLOTS];
    memset(from, 0, sizeof from);
    int count = status < 0 ? status : read_some(s, from, from_length, length);
    if (count == 0) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    if (count < 0) {
      napi_value code = int_value(env, count);
      call_back(s, s->on_error_ref, 1, &code);
      napi_close_handle_scope(env, scope);
      return;
    }
    for (int i = 0; i < count && !s->closing; i++) {
      napi_value argv[2] = {NULL, sender_path(s, &from[i], from_length[i])};
      void* copy;
      napi_create_buffer_copy(env, length[i], s->buffer + (size_t)i * RECEIVE_SIZE, &copy, &argv[0]);
      call_back(s, s->on_message_ref, 2, argv);
    }
    napi_close_handle_scope(env, scope);
    // Fewer than asked for: the queue was empty a moment ago (poll says when it is not), so one
    // datagram at a time costs one system call, not a second one that finds nothing.
    if (count < SLOTS) return;
  }
}

static void on_closed(uv_handle_t* handle) {
  UnixSocket* s = handle->data;
  napi_env env = s->env;
  napi_ref refs[] = {s->on_message_ref, s->on_error_ref, s->resource_ref, s->self_ref, s->last_sender_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (refs[i] != NULL) napi_delete_reference(env, refs[i]);
  if (s->async_context != NULL) napi_async_destroy(env, s->async_context);
  free(s->buffer);
  s->closed = 1;
  if (!s->handle_alive) free(s);
}

// Closes the descriptor at once (the path is free for a new bind as soon as the file is gone);
// libuv lets go of the poll handle later, in on_closed.
static void close_socket(UnixSocket* s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  uv_close((uv_handle_t*)&s->poll, on_closed);
}

static void on_env_cleanup(void* arg) {
  close_socket(arg);
}

// The handle was garbage-collected: close the socket if JavaScript never did, then free the struct.
static void on_handle_finalized(napi_env env, void* data, void* hint) {
  UnixSocket* s = data;
  (void)hint;
  s->handle_alive = 0;
  if (s->closed) {
    free(s);
    return;
  }
  if (!s->closing) napi_remove_env_cleanup_hook(env, on_env_cleanup, s);
  close_socket(s);
}

static napi_value throw_error(napi_env env, const char* message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

// Unpacks a call whose first argument is a handle from unixSocket(): fills argv with `count`
// arguments and returns the open socket, or throws (a programming error) and returns NULL.
static UnixSocket* socket_call(napi_env env, napi_callback_info info, size_t count, napi_value* argv) {
  size_t argc = count;
  void* pointer = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, NULL, "udp-native: missing arguments");
    return NULL;
  }
  if (napi_get_value_external(env, argv[0], &pointer) != napi_ok || pointer == NULL) {
    napi_throw_type_error(env, NULL, "udp-native: expected the handle returned by unixSocket()");
    return NULL;
  }
  return pointer;
}

// Fills `address` from a JavaScript string; returns 0 or -ENAMETOOLONG (or -EINVAL for a non-string).
static int socket_address(napi_env env, napi_value path, struct sockaddr_un* address, socklen_t* length) {
  char text[PATH_ARGUMENT_SIZE];
  size_t size;
  if (napi_get_value_string_utf8(env, path, text, sizeof text, &size) != napi_ok) return -EINVAL;
  if (size >= sizeof address->sun_path || size + 1 >= sizeof text) return -ENAMETOOLONG;
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  memcpy(address->sun_path, text, size + 1);
  *length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + size + 1);
  return 0;
}

// unixSocket() -> handle | -errno
static napi_value Socket(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef SOCK_NONBLOCK
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd >= 0 && (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)) {
    int saved = errno;
    close(fd);
    fd = -1;
    errno = saved;
  }
#endif
  if (fd < 0) return int_value(env, -errno);
  UnixSocket* s = calloc(1, sizeof *s);
  uv_loop_t* loop;
  if (s == NULL) {
    close(fd);
    return int_value(env, -ENOMEM);
  }
  int status = napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init(loop, &s->poll, fd) : -EINVAL;
  if (status != 0) {
    close(fd);
    free(s);
    return int_value(env, status);
  }
  s->env = env;
  s->fd = fd;
  s->poll.data = s;
  s->handle_alive = 1;
  napi_add_env_cleanup_hook(env, on_env_cleanup, s);
  napi_value handle;
  if (napi_create_external(env, s, on_handle_finalized, NULL, &handle) != napi_ok) {
    napi_remove_env_cleanup_hook(env, on_env_cleanup, s);
    s->handle_alive = 0;
    close_socket(s);
    return throw_error(env, "udp-native: cannot create the socket handle");
  }
  return handle;
}

// unixBind(handle, path) -> 0 | -errno
static napi_value Bind(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  UnixSocket* s = socket_call(env, info, 2, argv);
  if (s == NULL) return NULL;
  if (s->closing) return int_value(env, -EBADF);
  struct sockaddr_un address;
  socklen_t length;
  int result = socket_address(env, argv[1], &address, &length);
  if (result == 0 && bind(s->fd, (struct sockaddr*)&address, length) != 0) result = -errno;
  return int_value(env, result);
}

// unixConnect(handle, path) -> 0 | -errno
static napi_value Connect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  UnixSocket* s = socket_call(env, info, 2, argv);
  if (s == NULL) return NULL;
  if (s->closing) return int_value(env, -EBADF);
  struct sockaddr_un address;
  socklen_t length;
  int result = socket_address(env, argv[1], &address, &length);
  while (result == 0 && connect(s->fd, (struct sockaddr*)&address, length) != 0) {
    if (errno != EINTR) result = -errno;
  }
  return int_value(env, result);
}

// unixSendTo(handle, data: Uint8Array, path) -> 0 | -errno
static napi_value SendTo(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  UnixSocket* s = socket_call(env, info, 3, argv);
  if (s == NULL) return NULL;
  if (s->closing) return int_value(env, -EBADF);
  napi_typedarray_type type;
  size_t size;
  void* bytes;
  if (napi_get_typedarray_info(env, argv[1], &type, &size, &bytes, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "udp-native: data must be a Uint8Array");
    return NULL;
  }
  struct sockaddr_un address;
  socklen_t length;
  int result = socket_address(env, argv[2], &address, &length);
  while (result == 0 && sendto(s->fd, bytes, size, MSG_DONTWAIT, (struct sockaddr*)&address, length) < 0) {
    if (errno != EINTR) result = -errno;
  }
  return int_value(env, result);
}

// unixReceive(handle, onMessage(data: Buffer, senderPath: string), onError(-errno)) -> 0 | -errno
static napi_value Receive(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  UnixSocket* s = socket_call(env, info, 3, argv);
  if (s == NULL) return NULL;
  if (s->closing) return int_value(env, -EBADF);
  if (s->reading) return throw_error(env, "udp-native: the socket is already reading");
  s->buffer = malloc((size_t)SLOTS * RECEIVE_SIZE);
  if (s->buffer == NULL) return int_value(env, -ENOMEM);
  napi_value resource, name;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_latin1(env, "SOCKSERVE_UNIX_DGRAM", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &s->async_context) != napi_ok ||
      napi_create_reference(env, resource, 1, &s->resource_ref) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &s->on_message_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &s->on_error_ref) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &s->self_ref) != napi_ok)
    return throw_error(env, "udp-native: cannot set up reading");
  s->reading = 1;
  return int_value(env, uv_poll_start(&s->poll, UV_READABLE, on_readable));
}

// unixClose(handle)
static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  UnixSocket* s = socket_call(env, info, 1, argv);
  if (s == NULL) return NULL;
  if (!s->closing) napi_remove_env_cleanup_hook(env, on_env_cleanup, s);
  close_socket(s);
  return NULL;
}

napi_status unix_dgram_init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"unixSocket", NULL, Socket, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixBind", NULL, Bind, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixConnect", NULL, Connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixSendTo", NULL, SendTo, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixReceive", NULL, Receive, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixClose", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unixReceiveSize", NULL, NULL, NULL, NULL, int_value(env, RECEIVE_SIZE), napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
