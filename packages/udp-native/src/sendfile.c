// Zero-copy file sending for @sockserve/core's `wfile.sendfile()`: sendfile(2) from a file to a
// connected stream socket (TCP or Unix) that a net.Socket owns, as Python's socket.sendfile() does.
//
// Contract (JavaScript calls, from the main thread):
//   sendfileStart(socketFd, fileFd, offset, count, timeoutMs, done) -> job
//     Sends `count` bytes of `fileFd` from byte `offset` (count < 0: until end of file) to the socket,
//     then calls done(errno, bytesSent) on the main thread, once: errno 0 on success, ETIMEDOUT when
//     the socket took nothing for `timeoutMs` milliseconds (timeoutMs < 0: no limit), ECANCELED after
//     sendfileCancel(job), else the errno of sendfile(2) (EINVAL or ENOSYS with bytesSent 0: this file
//     or socket cannot be sent from; JavaScript then streams instead, as Python falls back to send()).
//     The file's own position does not move. JavaScript must not write to the socket until done(),
//     and must keep fileFd open until then.
//   sendfileCancel(job)
//     Makes a running job end soon with ECANCELED (call it when the socket closes). Safe to repeat,
//     and after done().
//
// The work runs on a thread of its own, not on libuv's pool: a slow peer makes it wait in poll(2)
// for as long as `timeoutMs`, and must not hold up file system calls. It works on a dup(2) of the
// socket's descriptor, so Node closing its own descriptor (socket.destroy()) can never make it send
// to another file that reused the number; the socket is really closed when the job lets go of it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "addon.h"

#define MAX_PER_CALL (1 << 30)  // bytes per sendfile(2) call (Linux sends at most 0x7ffff000 anyway)

typedef struct {
  int socket_fd;     // our dup of the socket's descriptor
  int file_fd;       // JavaScript's (not ours to close)
  int cancel_fd;     // eventfd written by sendfileCancel()
  off_t offset;
  int64_t count;     // < 0: until end of file
  int timeout_ms;    // < 0: no limit
  int64_t sent;
  int error;
  napi_threadsafe_function done;
  atomic_int refs;   // the thread and JavaScript's external: the last one frees the job
} Job;

static void job_release(Job* job) {
  if (atomic_fetch_sub(&job->refs, 1) != 1) return;
  close(job->cancel_fd);
  free(job);
}

static void job_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  job_release((Job*)data);
}

// Runs on the job's thread.
static void* job_run(void* arg) {
  Job* job = (Job*)arg;
  int error = 0;
  while (job->count < 0 || job->sent < job->count) {
    int64_t left = job->count < 0 ? MAX_PER_CALL : job->count - job->sent;
    size_t want = (size_t)(left < MAX_PER_CALL ? left : MAX_PER_CALL);
    ssize_t n = sendfile(job->socket_fd, job->file_fd, &job->offset, want);
    if (n > 0) {
      job->sent += n;
      continue;
    }
    if (n == 0) break;  // end of file
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = errno;
      break;
    }
    struct pollfd fds[2] = {{job->socket_fd, POLLOUT, 0}, {job->cancel_fd, POLLIN, 0}};
    int ready;
    do ready = poll(fds, 2, job->timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready < 0) {
      error = errno;
      break;
    }
    if (ready == 0) {
      error = ETIMEDOUT;
      break;
    }
    if (fds[1].revents & POLLIN) {
      error = ECANCELED;
      break;
    }
    // POLLOUT, or POLLERR/POLLHUP: the next sendfile(2) sends or reports the error.
  }
  close(job->socket_fd);
  job->error = error;
  napi_call_threadsafe_function(job->done, job, napi_tsfn_blocking);
  napi_release_threadsafe_function(job->done, napi_tsfn_release);
  return NULL;
}

// On the main thread: done(errno, bytesSent), then the thread's reference goes.
static void job_done(napi_env env, napi_value callback, void* context, void* data) {
  (void)context;
  Job* job = (Job*)data;
  if (env != NULL && callback != NULL) {
    napi_value argv[2], global;
    if (napi_create_int32(env, job->error, &argv[0]) == napi_ok &&
        napi_create_double(env, (double)job->sent, &argv[1]) == napi_ok &&
        napi_get_global(env, &global) == napi_ok) {
      napi_call_function(env, global, callback, 2, argv, NULL);
    }
  }
  job_release(job);
}

static napi_value throw_error(napi_env env, const char* message) {
  napi_throw_error(env, "ERR_SOCKSERVE_SENDFILE", message);
  return NULL;
}

static int get_int64(napi_env env, napi_value value, int64_t* out) {
  return napi_get_value_int64(env, value, out) == napi_ok;
}

// sendfileStart(socketFd, fileFd, offset, count, timeoutMs, done) -> job
static napi_value SendfileStart(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6)
    return throw_error(env, "sendfileStart(socketFd, fileFd, offset, count, timeoutMs, done) needs 6 arguments");
  int64_t socket_fd, file_fd, offset, count, timeout_ms;
  napi_valuetype type;
  if (!get_int64(env, argv[0], &socket_fd) || !get_int64(env, argv[1], &file_fd) ||
      !get_int64(env, argv[2], &offset) || !get_int64(env, argv[3], &count) ||
      !get_int64(env, argv[4], &timeout_ms) || napi_typeof(env, argv[5], &type) != napi_ok ||
      type != napi_function || socket_fd < 0 || file_fd < 0 || offset < 0)
    return throw_error(env, "sendfileStart: bad arguments");

  Job* job = calloc(1, sizeof(Job));
  if (job == NULL) return throw_error(env, "sendfileStart: out of memory");
  job->file_fd = (int)file_fd;
  job->offset = (off_t)offset;
  job->count = count;
  job->timeout_ms = timeout_ms < 0 ? -1 : (timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms);
  job->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (job->cancel_fd < 0) {
    free(job);
    return throw_error(env, "sendfileStart: eventfd failed");
  }
  job->socket_fd = fcntl((int)socket_fd, F_DUPFD_CLOEXEC, 0);
  if (job->socket_fd < 0) {
    close(job->cancel_fd);
    free(job);
    return throw_error(env, "sendfileStart: dup of the socket failed");
  }
  atomic_init(&job->refs, 2);

  napi_value name, external;
  if (napi_create_string_utf8(env, "sockserve sendfile", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[5], NULL, name, 0, 1, NULL, NULL, NULL, job_done,
                                      &job->done) != napi_ok) {
    close(job->socket_fd);
    close(job->cancel_fd);
    free(job);
    return throw_error(env, "sendfileStart: cannot make the completion callback");
  }
  if (napi_create_external(env, job, job_finalize, NULL, &external) != napi_ok) {
    napi_release_threadsafe_function(job->done, napi_tsfn_abort);
    close(job->socket_fd);
    close(job->cancel_fd);
    free(job);
    return throw_error(env, "sendfileStart: cannot make the job handle");
  }
  // From here the external owns one reference (its finalizer releases it), the thread the other.
  pthread_attr_t attr;
  pthread_t thread;
  int started = pthread_attr_init(&attr) == 0 &&
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                pthread_create(&thread, &attr, job_run, job) == 0;
  pthread_attr_destroy(&attr);
  if (!started) {
    close(job->socket_fd);
    napi_release_threadsafe_function(job->done, napi_tsfn_abort);
    job_release(job);  // the thread's reference
    return throw_error(env, "sendfileStart: cannot start a thread");
  }
  return external;
}

// sendfileCancel(job)
static napi_value SendfileCancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL)
    return throw_error(env, "sendfileCancel(job) needs the job sendfileStart returned");
  Job* job = (Job*)data;
  uint64_t one = 1;
  ssize_t written = write(job->cancel_fd, &one, sizeof one);
  (void)written;  // EAGAIN: already cancelled enough
  return NULL;
}

// Adds sendfileStart and sendfileCancel to the addon's exports (called by the module's init).
napi_status sockserve_sendfile_define(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"sendfileStart", NULL, SendfileStart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendfileCancel", NULL, SendfileCancel, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
