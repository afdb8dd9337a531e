/*
 * loadgen: the benchmark's load generator (one thread, epoll, non-blocking sockets).
 *
 *   loadgen MODE --port P [options]      MODE: pingpong stream connrate udp chat joinstorm idle
 *
 * It verifies every byte it gets back, runs for a bounded time, and prints one JSON line:
 *   {"mode":..., "ok":true|false, "errors":N, "error":"first error", "value":..., "unit":..., ...}
 * after progress lines {"event":"measuring"} (the measured window starts) and, for idle,
 * {"event":"established"} (every connection is open; it then holds them until stdin says so).
 * plus "cpu": the fraction of one core it used during the measured window (user + sys), which
 * shows whether the load generator itself was the bottleneck.
 *
 * Source addresses are spread over 127.0.1.1-127.0.1.64 (all loopback) so that the TIME_WAIT
 * sockets left by the connection-rate scenario never exhaust the ephemeral ports.
 *
 * Built by bench/lib/build.js with `cc -O2`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* ---- options ---------------------------------------------------------------------------- */

static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static int opt_conns = -1;       /* connections (or UDP sockets / chat clients); mode default */
static int opt_size = 64;        /* message size in bytes */
static double opt_duration = 3;  /* measured seconds */
static double opt_warmup = 0.5;  /* seconds before measuring */
static double opt_timeout = 60;  /* hard limit for the whole run */
static long long opt_bytes = 256LL << 20; /* stream: bytes per connection */
static int opt_senders = 4;      /* chat: clients that send */
static int opt_window = 16;      /* chat: lines in flight per sender; joinstorm: clients waiting for their welcome */
static int opt_window_set = 0;
static double opt_hold = 30;     /* idle: longest hold after establishing */
static const char *opt_file = NULL; /* download: the file the server sends (written here first) */

/* ---- small helpers ---------------------------------------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long errors = 0;
static char first_error[256] = "";

static void fail(const char *fmt, ...) {
  errors++;
  if (first_error[0] != '\0') return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(first_error, sizeof first_error, fmt, ap);
  va_end(ap);
  for (char *p = first_error; *p; p++)
    if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '\'';
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static struct sockaddr_in server_addr(void) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)opt_port);
  if (inet_pton(AF_INET, opt_host, &sa.sin_addr) != 1) {
    fprintf(stderr, "loadgen: bad host %s\n", opt_host);
    exit(2);
  }
  return sa;
}

static unsigned source_counter = 0;

/* A non-blocking TCP socket, bound to the next loopback source address, connect() started. */
static int tcp_connect(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src;
  memset(&src, 0, sizeof src);
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000101u + (source_counter++ % 64)); /* 127.0.1.1 .. 127.0.1.64 */
  if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) die("bind source address");
  struct sockaddr_in sa = server_addr();
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
    fail("connect: %s", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

static int ep;

static void ep_ctl(int op, int fd, uint32_t events, void *ptr) {
  struct epoll_event ev;
  ev.events = events;
  ev.data.ptr = ptr;
  if (epoll_ctl(ep, op, fd, &ev) < 0) die("epoll_ctl");
}

/* Latency histogram, 1 µs buckets up to 100 ms. */
#define HIST_MAX 100000
static uint32_t hist[HIST_MAX + 1];
static uint64_t hist_n = 0;

static void hist_add(double seconds) {
  long us = (long)(seconds * 1e6);
  if (us < 0) us = 0;
  if (us > HIST_MAX) us = HIST_MAX;
  hist[us]++;
  hist_n++;
}

static double hist_pct(double p) {
  if (hist_n == 0) return 0;
  uint64_t want = (uint64_t)(p * (double)hist_n);
  if (want >= hist_n) want = hist_n - 1;
  uint64_t seen = 0;
  for (long i = 0; i <= HIST_MAX; i++) {
    seen += hist[i];
    if (seen > want) return (double)i;
  }
  return HIST_MAX;
}

/* Measured window bookkeeping, shared by the duration-based modes. */
static double t_start, t_measure, t_end, cpu_at_measure;
static int measuring = 0;

/* Tells the runner the measured window starts (it samples the server's CPU time then). */
static void announce_measuring(void) {
  printf("{\"event\":\"measuring\"}\n");
  fflush(stdout);
}

static void window_begin(void) {
  t_start = now();
  t_measure = t_start + opt_warmup;
  t_end = t_measure + opt_duration;
  measuring = opt_warmup <= 0;
  cpu_at_measure = cpu_seconds();
  if (measuring) announce_measuring();
}

/* Call once per loop turn: switches the window on after the warm-up; returns 0 once it is over. */
static int window_tick(double t) {
  if (!measuring && t >= t_measure) {
    measuring = 1;
    cpu_at_measure = cpu_seconds();
    announce_measuring();
  }
  return t < t_end;
}

static int wait_ms(double t) {
  double left = (measuring ? t_end : t_measure) - t;
  int ms = (int)(left * 1000) + 1;
  return ms < 1 ? 1 : (ms > 100 ? 100 : ms);
}

static void print_result(const char *mode, double value, const char *unit, double elapsed,
                         double cpu, const char *extra) {
  printf("{\"mode\":\"%s\",\"ok\":%s,\"errors\":%ld,\"error\":\"%s\",\"value\":%.3f,\"unit\":\"%s\","
         "\"elapsed\":%.3f,\"cpu\":%.3f%s}\n",
         mode, errors == 0 ? "true" : "false", errors, first_error, value, unit, elapsed, cpu,
         extra ? extra : "");
  fflush(stdout);
}

/* Deterministic message contents: byte i of message `seq` on connection `id`. */
static void fill_message(unsigned char *buf, int size, unsigned id, uint64_t seq) {
  uint64_t x = (seq + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)id << 32);
  for (int i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf[i] = (unsigned char)('a' + (x % 26));
  }
  if (size > 0) buf[size - 1] = '\n';
}

/* ---- pingpong / connrate / udp: request, wait for its echo, repeat ------------------------ */

#define MAX_MSG 65536

typedef struct {
  int fd;
  unsigned id;
  uint64_t seq;
  int state;        /* connrate: 0 connecting, 1 exchanging */
  int out_len, out_off, in_off;
  double sent_at;
  unsigned char *out; /* what was sent = what must come back */
  unsigned char *in;
} peer;

static void peer_send_next(peer *p) {
  fill_message(p->out, opt_size, p->id, p->seq);
  p->out_len = opt_size;
  p->out_off = 0;
  p->in_off = 0;
  p->sent_at = now();
}

/* Writes what is left of the message; returns -1 on error, 1 when all is written, 0 when blocked. */
static int peer_flush(peer *p) {
  while (p->out_off < p->out_len) {
    ssize_t n = send(p->fd, p->out + p->out_off, (size_t)(p->out_len - p->out_off), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      fail("send: %s", strerror(errno));
      return -1;
    }
    p->out_off += (int)n;
  }
  return 1;
}

/* Reads towards the expected echo; -1 error/EOF, 1 complete and verified, 0 needs more. */
static int peer_read(peer *p) {
  for (;;) {
    ssize_t n = recv(p->fd, p->in + p->in_off, (size_t)(p->out_len - p->in_off), 0);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      fail("recv: %s", strerror(errno));
      return -1;
    }
    if (n == 0) {
      fail("connection closed by the server before its echo arrived");
      return -1;
    }
    p->in_off += (int)n;
    if (p->in_off == p->out_len) {
      if (memcmp(p->in, p->out, (size_t)p->out_len) != 0) {
        fail("echo mismatch on connection %u message %llu", p->id, (unsigned long long)p->seq);
        return -1;
      }
      return 1;
    }
  }
}

static peer *make_peers(int n) {
  peer *peers = calloc((size_t)n, sizeof *peers);
  if (!peers) die("calloc");
  for (int i = 0; i < n; i++) {
    peers[i].id = (unsigned)i;
    peers[i].fd = -1;
    peers[i].out = malloc((size_t)opt_size);
    peers[i].in = malloc((size_t)opt_size);
  }
  return peers;
}

static int wait_connected(int fd) {
  struct pollfd pfd = {.fd = fd, .events = POLLOUT};
  int r = poll(&pfd, 1, 10000);
  if (r <= 0) {
    fail("connect timed out");
    return -1;
  }
  int err = socket_error(fd);
  if (err) {
    fail("connect: %s", strerror(err));
    return -1;
  }
  return 0;
}

static void run_pingpong(void) {
  int n = opt_conns > 0 ? opt_conns : 64;
  peer *peers = make_peers(n);
  for (int i = 0; i < n; i++) {
    peers[i].fd = tcp_connect();
    if (peers[i].fd < 0 || wait_connected(peers[i].fd) < 0) {
      print_result("pingpong", 0, "msg/s", 0, 0, NULL);
      return;
    }
  }
  long done = 0;
  window_begin();
  for (int i = 0; i < n; i++) {
    peer_send_next(&peers[i]);
    ep_ctl(EPOLL_CTL_ADD, peers[i].fd, EPOLLIN, &peers[i]);
    if (peer_flush(&peers[i]) == 0) ep_ctl(EPOLL_CTL_MOD, peers[i].fd, EPOLLIN | EPOLLOUT, &peers[i]);
  }
  struct epoll_event evs[256];
  double t = now();
  while (errors == 0 && window_tick(t)) {
    int k = epoll_wait(ep, evs, 256, wait_ms(t));
    t = now();
    for (int e = 0; e < k && errors == 0; e++) {
      peer *p = evs[e].data.ptr;
      if (evs[e].events & EPOLLOUT) {
        int r = peer_flush(p);
        if (r < 0) break;
        if (r == 1) ep_ctl(EPOLL_CTL_MOD, p->fd, EPOLLIN, p);
      }
      if (evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        int r = peer_read(p);
        if (r < 0) break;
        if (r == 1) {
          if (measuring) {
            done++;
            hist_add(t - p->sent_at);
          }
          p->seq++;
          peer_send_next(p);
          r = peer_flush(p);
          if (r < 0) break;
          if (r == 0) ep_ctl(EPOLL_CTL_MOD, p->fd, EPOLLIN | EPOLLOUT, p);
        }
      }
    }
  }
  double cpu = (cpu_seconds() - cpu_at_measure) / opt_duration;
  char extra[160];
  snprintf(extra, sizeof extra, ",\"count\":%ld,\"p50_us\":%.0f,\"p99_us\":%.0f,\"conns\":%d,\"size\":%d", done,
           hist_pct(0.5), hist_pct(0.99), n, opt_size);
  print_result("pingpong", done / opt_duration, "msg/s", opt_duration, cpu, extra);
}

/* Connection rate: connect, send a message, read its echo, close; `n` at a time. */
static void connrate_open(peer *p) {
  p->fd = tcp_connect();
  p->state = 0;
  if (p->fd < 0) return;
  ep_ctl(EPOLL_CTL_ADD, p->fd, EPOLLOUT, p);
}

static void run_connrate(void) {
  int n = opt_conns > 0 ? opt_conns : 32;
  peer *peers = make_peers(n);
  long done = 0;
  window_begin();
  for (int i = 0; i < n; i++) connrate_open(&peers[i]);
  struct epoll_event evs[256];
  double t = now();
  while (errors == 0 && window_tick(t)) {
    int k = epoll_wait(ep, evs, 256, wait_ms(t));
    t = now();
    for (int e = 0; e < k && errors == 0; e++) {
      peer *p = evs[e].data.ptr;
      if (p->state == 0) {
        int err = socket_error(p->fd);
        if (err) {
          fail("connect: %s", strerror(err));
          break;
        }
        p->state = 1;
        p->seq += (uint64_t)n;
        peer_send_next(p);
        int r = peer_flush(p);
        if (r < 0) break;
        ep_ctl(EPOLL_CTL_MOD, p->fd, r == 1 ? EPOLLIN : EPOLLIN | EPOLLOUT, p);
        continue;
      }
      if (evs[e].events & EPOLLOUT) {
        int r = peer_flush(p);
        if (r < 0) break;
        if (r == 1) ep_ctl(EPOLL_CTL_MOD, p->fd, EPOLLIN, p);
      }
      if (evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        int r = peer_read(p);
        if (r < 0) break;
        if (r == 1) {
          if (measuring) {
            done++;
            hist_add(t - p->sent_at);
          }
          close(p->fd);
          connrate_open(p);
        }
      }
    }
  }
  double cpu = (cpu_seconds() - cpu_at_measure) / opt_duration;
  char extra[160];
  snprintf(extra, sizeof extra, ",\"count\":%ld,\"p50_us\":%.0f,\"p99_us\":%.0f,\"concurrency\":%d,\"size\":%d",
           done, hist_pct(0.5), hist_pct(0.99), n, opt_size);
  print_result("connrate", done / opt_duration, "conn/s", opt_duration, cpu, extra);
}

/* UDP: `n` connected sockets, each with one datagram in flight. A datagram not echoed within
 * one second is an error (loopback does not lose datagrams with so few in flight). */
static void run_udp(void) {
  int n = opt_conns > 0 ? opt_conns : 32;
  peer *peers = make_peers(n);
  struct sockaddr_in sa = server_addr();
  for (int i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect udp");
    peers[i].fd = fd;
  }
  long done = 0;
  window_begin();
  for (int i = 0; i < n; i++) {
    peer_send_next(&peers[i]);
    ep_ctl(EPOLL_CTL_ADD, peers[i].fd, EPOLLIN, &peers[i]);
    if (send(peers[i].fd, peers[i].out, (size_t)opt_size, 0) != opt_size) fail("send: %s", strerror(errno));
  }
  struct epoll_event evs[256];
  double t = now(), last_check = t;
  while (errors == 0 && window_tick(t)) {
    int k = epoll_wait(ep, evs, 256, wait_ms(t));
    t = now();
    for (int e = 0; e < k && errors == 0; e++) {
      peer *p = evs[e].data.ptr;
      static unsigned char datagram[MAX_MSG];
      for (;;) {
        ssize_t r = recv(p->fd, datagram, MAX_MSG, 0);
        if (r < 0) {
          if (errno != EAGAIN) fail("recv: %s", strerror(errno));
          break;
        }
        if (r != opt_size || memcmp(datagram, p->out, (size_t)opt_size) != 0) {
          fail("datagram echo mismatch on socket %u message %llu (%zd bytes)", p->id,
               (unsigned long long)p->seq, r);
          break;
        }
        if (measuring) {
          done++;
          hist_add(t - p->sent_at);
        }
        p->seq++;
        peer_send_next(p);
        if (send(p->fd, p->out, (size_t)opt_size, 0) != opt_size) {
          fail("send: %s", strerror(errno));
          break;
        }
      }
    }
    if (t - last_check > 0.1) {
      last_check = t;
      for (int i = 0; i < n; i++)
        if (t - peers[i].sent_at > 1.0) {
          fail("datagram %llu on socket %d not echoed within 1 s", (unsigned long long)peers[i].seq, i);
          break;
        }
    }
  }
  double cpu = (cpu_seconds() - cpu_at_measure) / opt_duration;
  char extra[160];
  snprintf(extra, sizeof extra, ",\"count\":%ld,\"p50_us\":%.0f,\"p99_us\":%.0f,\"sockets\":%d,\"size\":%d", done,
           hist_pct(0.5), hist_pct(0.99), n, opt_size);
  print_result("udp", done / opt_duration, "dgram/s", opt_duration, cpu, extra);
}

/* ---- stream: each connection sends opt_bytes and reads them back while sending ------------ */

#define PATTERN_PERIOD 1048573 /* prime: no alignment with any buffer size */
#define IO_CHUNK (256 * 1024)
static unsigned char *pattern; /* PATTERN_PERIOD + IO_CHUNK bytes, so any window is contiguous */

typedef struct {
  int fd;
  unsigned id;
  long long sent, received;
  int write_open;
} streamer;

static const unsigned char *pattern_at(unsigned id, long long offset) {
  return pattern + (size_t)((offset + (long long)id * 104729) % PATTERN_PERIOD);
}

static void run_stream(void) {
  int n = opt_conns > 0 ? opt_conns : 4;
  pattern = malloc(PATTERN_PERIOD + IO_CHUNK);
  fill_message(pattern, PATTERN_PERIOD, 7, 7);
  memcpy(pattern + PATTERN_PERIOD, pattern, IO_CHUNK);
  unsigned char *buf = malloc(IO_CHUNK);
  streamer *ss = calloc((size_t)n, sizeof *ss);
  for (int i = 0; i < n; i++) {
    ss[i].id = (unsigned)i;
    ss[i].fd = tcp_connect();
    if (ss[i].fd < 0 || wait_connected(ss[i].fd) < 0) {
      print_result("stream", 0, "MiB/s", 0, 0, NULL);
      return;
    }
    ss[i].write_open = 1;
    ep_ctl(EPOLL_CTL_ADD, ss[i].fd, EPOLLIN | EPOLLOUT, &ss[i]);
  }
  announce_measuring();
  double t0 = now(), cpu0 = cpu_seconds();
  long long total = opt_bytes * n, received = 0;
  struct epoll_event evs[64];
  double t = t0;
  while (errors == 0 && received < total) {
    if (t - t0 > opt_timeout) {
      fail("timed out after %.0f s with %lld of %lld bytes echoed", opt_timeout, received, total);
      break;
    }
    int k = epoll_wait(ep, evs, 64, 100);
    t = now();
    for (int e = 0; e < k && errors == 0; e++) {
      streamer *s = evs[e].data.ptr;
      if ((evs[e].events & EPOLLOUT) && s->write_open) {
        while (s->sent < opt_bytes) {
          long long left = opt_bytes - s->sent;
          size_t want = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
          ssize_t w = send(s->fd, pattern_at(s->id, s->sent), want, MSG_NOSIGNAL);
          if (w < 0) {
            if (errno != EAGAIN) fail("send: %s", strerror(errno));
            break;
          }
          s->sent += w;
        }
        if (s->sent == opt_bytes) {
          shutdown(s->fd, SHUT_WR);
          s->write_open = 0;
          ep_ctl(EPOLL_CTL_MOD, s->fd, EPOLLIN, s);
        }
      }
      if (evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (int reads = 0; reads < 16; reads++) {
          ssize_t r = recv(s->fd, buf, IO_CHUNK, 0);
          if (r < 0) {
            if (errno != EAGAIN) fail("recv: %s", strerror(errno));
            break;
          }
          if (r == 0) {
            if (s->received < opt_bytes)
              fail("server closed connection %u after %lld of %lld bytes", s->id, s->received, opt_bytes);
            ep_ctl(EPOLL_CTL_DEL, s->fd, 0, NULL);
            break;
          }
          if (s->received + r > s->sent) {
            fail("connection %u got more bytes back than it sent", s->id);
            break;
          }
          if (memcmp(buf, pattern_at(s->id, s->received), (size_t)r) != 0) {
            fail("stream mismatch on connection %u near offset %lld", s->id, s->received);
            break;
          }
          s->received += r;
          received += r;
          if (s->received == opt_bytes) {
            ep_ctl(EPOLL_CTL_DEL, s->fd, 0, NULL);
            break;
          }
          if (r < IO_CHUNK) break;
        }
      }
    }
  }
  double elapsed = now() - t0;
  double cpu = (cpu_seconds() - cpu0) / elapsed;
  char extra[160];
  snprintf(extra, sizeof extra, ",\"bytes\":%lld,\"conns\":%d,\"bytes_per_conn\":%lld", received, n, opt_bytes);
  print_result("stream", received / 1048576.0 / elapsed, "MiB/s", elapsed, cpu, extra);
}

/* ---- chat fan-out ------------------------------------------------------------------------ */

/*
 * `n` clients join; each reads its welcome line `-- welcome, you are NICK in #lobby ...`. Then
 * `opt_senders` of them send lines `m <sender> <seq> <padding>` as fast as a window of
 * `opt_window` lines per sender allows, in batches of half a window: a line leaves the window once
 * every other client got it.
 * Every client checks each line it gets byte for byte against `<NICK> m <sender> <seq> <padding>`
 * for the next sequence number it is owed by some sender (the nick being that sender's). `-- `
 * notices (joins, leaves) are allowed and not counted. The result: lines delivered per second, all
 * clients together.
 */
#define CHAT_BUF 65536
#define NICK_MAX 64
#define MAX_SENDERS 64
#define MAX_WINDOW 1024
#define LINE_MAX 128

typedef struct {
  int fd;
  int id;
  int welcomed;
  int dropped; /* closed by the server: it gets nothing more */
  char nick[NICK_MAX];
  char buf[CHAT_BUF];
  int len;
  uint64_t next[MAX_SENDERS]; /* next sequence number owed by each sender */
} chatter;

typedef struct {
  int len;
  char text[LINE_MAX]; /* the line as every other client must receive it, LF included */
} chat_expected;

static int chat_n;
static chatter *chatters;
static uint64_t chat_sent[MAX_SENDERS], chat_acked[MAX_SENDERS];
static int *chat_count;           /* [sender][seq % window]: receivers that got it */
static int *chat_need;            /* [sender][seq % window]: receivers it must reach (clients not dropped) */
static long chat_dropped = 0;     /* clients the server closed */
static chat_expected *chat_lines; /* [sender][seq % window]: lines in flight */
static long chat_delivered = 0, chat_notices = 0, chat_welcomed = 0;

/* Refills the window once half of it has been delivered: senders write batches of lines. */
static void chat_send_more(int s) {
  chatter *c = &chatters[s];
  char out[MAX_WINDOW * LINE_MAX];
  int len = 0;
  if (c->dropped) return;
  if (chat_sent[s] - chat_acked[s] > (uint64_t)opt_window / 2) return;
  while (chat_sent[s] - chat_acked[s] < (uint64_t)opt_window) {
    uint64_t seq = chat_sent[s]++;
    char text[LINE_MAX];
    /* Padding of 16 to 32 letters, different for each sequence number. */
    int n = snprintf(text, sizeof text, "m %d %llu ", s, (unsigned long long)seq);
    int pad = 16 + (int)(seq % 17);
    for (int i = 0; i < pad; i++) text[n++] = (char)('a' + (seq + (uint64_t)i * 7) % 26);
    text[n++] = '\n';
    memcpy(out + len, text, (size_t)n);
    len += n;
    chat_expected *e = &chat_lines[s * opt_window + (int)(seq % (uint64_t)opt_window)];
    e->len = snprintf(e->text, sizeof e->text, "<%s> %.*s", c->nick, n, text);
    chat_need[s * opt_window + (int)(seq % (uint64_t)opt_window)] = chat_n - 1 - (int)chat_dropped + c->dropped;
  }
  if (len == 0) return;
  /* A window of short lines fits the socket buffer; a short write means the server stopped reading. */
  ssize_t w = send(c->fd, out, (size_t)len, MSG_NOSIGNAL);
  if (w != len) fail("chat sender %d could not write its lines (%s)", s, w < 0 ? strerror(errno) : "short");
}

/* Slides sender `s`'s window past every line that reached everyone it must reach, and refills it. */
static void chat_slide(int s) {
  while (chat_acked[s] < chat_sent[s]) {
    int i = s * opt_window + (int)(chat_acked[s] % (uint64_t)opt_window);
    if (chat_count[i] < chat_need[i]) break;
    chat_count[i] = 0;
    chat_acked[s]++;
  }
  chat_send_more(s);
}

/* The server closed client `c`: it is counted as dropped, and the lines it still lacked need it no more. */
static void chat_drop(chatter *c) {
  if (c->dropped) return;
  c->dropped = 1;
  chat_dropped++;
  ep_ctl(EPOLL_CTL_DEL, c->fd, 0, NULL);
  close(c->fd);
  c->fd = -1;
  for (int s = 0; s < opt_senders; s++) {
    if (s == c->id) continue;
    for (uint64_t seq = c->next[s]; seq < chat_sent[s]; seq++)
      chat_need[s * opt_window + (int)(seq % (uint64_t)opt_window)]--;
    chat_slide(s);
  }
}

/* Client `c` got line `seq` from sender `s`. */
static void chat_deliver(chatter *c, int s, uint64_t seq) {
  c->next[s]++;
  if (measuring) chat_delivered++;
  int i = s * opt_window + (int)(seq % (uint64_t)opt_window);
  if (++chat_count[i] < chat_need[i]) return;
  chat_slide(s);
}

/* A line that is not a room message: the welcome, or a notice. */
static void chat_other_line(chatter *c, const char *line, int len) {
  if (!c->welcomed) {
    static const char prefix[] = "-- welcome, you are ";
    if (len > (int)sizeof prefix - 1 && memcmp(line, prefix, sizeof prefix - 1) == 0) {
      const char *nick = line + sizeof prefix - 1;
      const char *end = memchr(nick, ' ', (size_t)(line + len - nick));
      if (end && end - nick < NICK_MAX) {
        memcpy(c->nick, nick, (size_t)(end - nick));
        c->nick[end - nick] = '\0';
        c->welcomed = 1;
        chat_welcomed++;
        return;
      }
    }
    fail("client %d: expected a welcome line, got '%.*s'", c->id, len > 80 ? 80 : len, line);
    return;
  }
  if (len >= 3 && memcmp(line, "-- ", 3) == 0) {
    chat_notices++;
    return;
  }
  fail("client %d: unexpected line '%.*s' (or out of order)", c->id, len > 80 ? 80 : len, line);
}

/* Consumes the complete lines at the start of `data`; returns how many bytes it consumed. */
static int chat_consume(chatter *c, const char *data, int avail) {
  int pos = 0;
  while (pos < avail && errors == 0) {
    const char *at = data + pos;
    int left = avail - pos;
    if (*at == '<' && c->welcomed) {
      int matched = 0, partial = 0;
      for (int s = 0; s < opt_senders; s++) {
        uint64_t seq = c->next[s];
        if (s == c->id || seq >= chat_sent[s]) continue;
        const chat_expected *e = &chat_lines[s * opt_window + (int)(seq % (uint64_t)opt_window)];
        if (left >= e->len) {
          if (memcmp(at, e->text, (size_t)e->len) == 0) {
            pos += e->len; /* before delivering: that may reuse the slot for a new line */
            chat_deliver(c, s, seq);
            matched = 1;
            break;
          }
        } else if (memcmp(at, e->text, (size_t)left) == 0) {
          partial = 1;
        }
      }
      if (matched) continue;
      if (partial) return pos;
    }
    const char *nl = memchr(at, '\n', (size_t)left);
    if (nl == NULL) return pos;
    chat_other_line(c, at, (int)(nl - at));
    pos += (int)(nl - at) + 1;
  }
  return pos;
}

static void chat_read(chatter *c) {
  for (;;) {
    ssize_t r = recv(c->fd, c->buf + c->len, (size_t)(CHAT_BUF - c->len), 0);
    if (r < 0 && errno != ECONNRESET) {
      if (errno != EAGAIN) fail("client %d: recv: %s", c->id, strerror(errno));
      return;
    }
    if (r <= 0) {
      /* Dropped (a reading client must never be): counted, and the run goes on without it. */
      chat_drop(c);
      return;
    }
    c->len += (int)r;
    int used = chat_consume(c, c->buf, c->len);
    if (used > 0) {
      memmove(c->buf, c->buf + used, (size_t)(c->len - used));
      c->len -= used;
    }
    if (c->len >= CHAT_BUF) {
      fail("client %d: line longer than %d bytes", c->id, CHAT_BUF);
      return;
    }
    if (r < CHAT_BUF / 2) return;
  }
}

static void chat_poll(double until) {
  struct epoll_event evs[256];
  int k = epoll_wait(ep, evs, 256, (int)((until - now()) * 1000) + 1);
  for (int e = 0; e < k && errors == 0; e++) chat_read(evs[e].data.ptr);
}

static void run_chat(void) {
  chat_n = opt_conns > 0 ? opt_conns : 200;
  if (opt_senders > MAX_SENDERS) opt_senders = MAX_SENDERS;
  if (opt_senders >= chat_n) opt_senders = chat_n - 1;
  if (opt_window > MAX_WINDOW) opt_window = MAX_WINDOW;
  chatters = calloc((size_t)chat_n, sizeof *chatters);
  chat_count = calloc((size_t)(opt_senders * opt_window), sizeof *chat_count);
  chat_need = calloc((size_t)(opt_senders * opt_window), sizeof *chat_need);
  chat_lines = calloc((size_t)(opt_senders * opt_window), sizeof *chat_lines);
  double deadline = now() + opt_timeout;
  /* Join one at a time-ish: at most 16 waiting for their welcome. */
  int opened = 0;
  while (errors == 0 && chat_welcomed < chat_n) {
    while (opened < chat_n && opened - chat_welcomed < 16) {
      chatter *c = &chatters[opened];
      c->id = opened++;
      c->fd = tcp_connect();
      if (c->fd < 0) break;
      ep_ctl(EPOLL_CTL_ADD, c->fd, EPOLLIN, c);
    }
    if (now() > deadline) fail("only %ld of %d chat clients were welcomed in time", chat_welcomed, chat_n);
    chat_poll(now() + 0.1);
  }
  if (errors) {
    print_result("chat", 0, "lines/s", 0, 0, NULL);
    return;
  }
  window_begin();
  for (int s = 0; s < opt_senders; s++) chat_send_more(s);
  double t = now();
  long last_delivered = -1;
  double last_progress = t;
  while (errors == 0 && window_tick(t)) {
    chat_poll(t + wait_ms(t) / 1000.0);
    t = now();
    long progress = chat_delivered + (long)chat_acked[0];
    if (progress != last_delivered) {
      last_delivered = progress;
      last_progress = t;
    } else if (t - last_progress > 5) {
      fail("no chat line delivered for 5 s");
    }
  }
  double cpu = (cpu_seconds() - cpu_at_measure) / opt_duration;
  if (errors == 0 && chat_dropped > 0) fail("%ld of %d clients were dropped by the server", chat_dropped, chat_n);
  char extra[300];
  snprintf(extra, sizeof extra,
           ",\"count\":%ld,\"clients\":%d,\"senders\":%d,\"window\":%d,\"notices\":%ld,\"dropped\":%ld,"
           "\"note\":\"%ld of %d clients dropped\"",
           chat_delivered, chat_n, opt_senders, opt_window, chat_notices, chat_dropped, chat_dropped, chat_n);
  print_result("chat", chat_delivered / opt_duration, "lines/s", opt_duration, cpu, extra);
}

/* ---- join storm: many clients join one chat room ------------------------------------------- */

/*
 * `n` clients (default 5000) connect to a chat server as fast as it takes them, at most
 * `opt_window` (default here 256) waiting for their welcome at a time, and every client reads all
 * it is sent: its welcome `-- welcome, you are ...`, then a `-- guestN joined #lobby` for each
 * client that joins after it. Measured: the time from the first connect until the last welcome
 * (value: joins per second over it), the longest any client waited for its welcome, and the time
 * until every join notice was delivered (settled: n (n - 1) / 2 of them). A client the server
 * closes is counted as dropped, and any drop fails the run.
 */
typedef struct {
  int fd;
  int welcomed;
  double opened;
  int head_len;
  char head[96]; /* the start of the welcome line */
  long lines;    /* lines received, the welcome included */
} stormer;

static void run_joinstorm(void) {
  int n = opt_conns > 0 ? opt_conns : 5000;
  int window = opt_window_set ? opt_window : 256;
  stormer *cs = calloc((size_t)n, sizeof *cs);
  static char buf[65536];
  long long expected_lines = (long long)n + (long long)n * (n - 1) / 2, lines = 0;
  int opened = 0, welcomed = 0;
  long dropped = 0;
  double max_wait = 0, welcomed_at = 0;
  cpu_at_measure = cpu_seconds();
  announce_measuring();
  double t0 = now(), deadline = t0 + opt_timeout;
  while (errors == 0 && (welcomed < n || lines < expected_lines)) {
    while (opened < n && opened - welcomed - dropped < window) {
      stormer *c = &cs[opened];
      c->opened = now();
      c->fd = tcp_connect();
      if (c->fd < 0) break;
      ep_ctl(EPOLL_CTL_ADD, c->fd, EPOLLIN, c);
      opened++;
    }
    double t = now();
    if (t > deadline) {
      fail("join storm: %d of %d clients welcomed, %lld of %lld lines delivered after %.0f s", welcomed, n,
           lines, expected_lines, opt_timeout);
      break;
    }
    if (dropped > 0 && opened == n && welcomed + dropped == n) break; /* nothing more will come */
    struct epoll_event evs[256];
    int k = epoll_wait(ep, evs, 256, 100);
    for (int e = 0; e < k && errors == 0; e++) {
      stormer *c = evs[e].data.ptr;
      for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) {
          dropped++;
          ep_ctl(EPOLL_CTL_DEL, c->fd, 0, NULL);
          close(c->fd);
          c->fd = -1;
          break;
        }
        const char *at = buf, *end = buf + r;
        if (!c->welcomed) {
          const char *nl = memchr(at, '\n', (size_t)(end - at));
          int take = (int)((nl ? nl : end) - at);
          if (take > (int)sizeof c->head - c->head_len) take = (int)sizeof c->head - c->head_len;
          memcpy(c->head + c->head_len, at, (size_t)take);
          c->head_len += take;
          if (nl) {
            static const char prefix[] = "-- welcome, you are ";
            if (c->head_len < (int)sizeof prefix - 1 || memcmp(c->head, prefix, sizeof prefix - 1) != 0) {
              fail("join storm: expected a welcome line, got '%.*s'", c->head_len, c->head);
              break;
            }
            c->welcomed = 1;
            welcomed++;
            double waited = now() - c->opened;
            if (waited > max_wait) max_wait = waited;
            if (welcomed == n) welcomed_at = now();
          }
        }
        for (const char *nl = memchr(at, '\n', (size_t)(end - at)); nl; nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1))) {
          c->lines++;
          lines++;
        }
        if (r < (ssize_t)sizeof buf) break;
      }
    }
  }
  double settled_at = now();
  if (errors == 0 && dropped > 0) fail("join storm: %ld clients dropped by the server", dropped);
  double cpu = (cpu_seconds() - cpu_at_measure) / (settled_at - t0);
  double joined_s = (welcomed_at > 0 ? welcomed_at : settled_at) - t0;
  char extra[400];
  snprintf(extra, sizeof extra,
           ",\"clients\":%d,\"window\":%d,\"seconds\":%.3f,\"settled_seconds\":%.3f,\"max_welcome_ms\":%.0f,"
           "\"dropped\":%ld,\"note\":\"%d joined in %.2f s, all notices in %.2f s, longest wait for a welcome %.0f ms, %ld dropped\"",
           n, window, joined_s, settled_at - t0, max_wait * 1000, dropped, welcomed, joined_s, settled_at - t0,
           max_wait * 1000, dropped);
  print_result("joinstorm", welcomed / joined_s, "joins/s", settled_at - t0, cpu, extra);
  for (int i = 0; i < n; i++)
    if (cs[i].fd > 0) close(cs[i].fd);
  free(cs);
}

/* ---- idle: open n connections, one verified echo each, then hold them ---------------------- */

static void run_idle(void) {
  int n = opt_conns > 0 ? opt_conns : 10000;
  peer *peers = make_peers(n);
  double t0 = now(), deadline = t0 + opt_timeout;
  int opened = 0, established = 0;
  struct epoll_event evs[256];
  while (errors == 0 && established < n) {
    while (opened < n && opened - established < 64) {
      peer *p = &peers[opened++];
      p->fd = tcp_connect();
      if (p->fd < 0) break;
      ep_ctl(EPOLL_CTL_ADD, p->fd, EPOLLOUT, p);
    }
    if (now() > deadline) {
      fail("only %d of %d connections established in time", established, n);
      break;
    }
    int k = epoll_wait(ep, evs, 256, 100);
    for (int e = 0; e < k && errors == 0; e++) {
      peer *p = evs[e].data.ptr;
      if (p->state == 0) {
        int err = socket_error(p->fd);
        if (err) {
          fail("connect: %s", strerror(err));
          break;
        }
        p->state = 1;
        peer_send_next(p);
        if (peer_flush(p) != 1) {
          fail("could not send the first message");
          break;
        }
        ep_ctl(EPOLL_CTL_MOD, p->fd, EPOLLIN, p);
      } else if (p->state == 1) {
        int r = peer_read(p);
        if (r < 0) break;
        if (r == 1) {
          p->state = 2;
          established++;
        }
      } else {
        fail("idle connection %u got data or was closed", p->id);
      }
    }
  }
  double setup = now() - t0;
  printf("{\"event\":\"established\",\"conns\":%d,\"ok\":%s}\n", established, errors ? "false" : "true");
  fflush(stdout);
  /* Hold until stdin says "done" (or closes), or opt_hold passes; any event now is an error. */
  double hold_end = now() + opt_hold;
  while (errors == 0 && now() < hold_end) {
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    if (poll(&pfd, 1, 0) > 0) break;
    int k = epoll_wait(ep, evs, 256, 50);
    for (int e = 0; e < k; e++) {
      peer *p = evs[e].data.ptr;
      if (p->state == 2) fail("idle connection %u got data or was closed", p->id);
    }
  }
  char extra[120];
  snprintf(extra, sizeof extra, ",\"conns\":%d,\"established\":%d", n, established);
  print_result("idle", established, "conns", setup, 0, extra);
}

/* ---- main ------------------------------------------------------------------------------- */

/* ---- download: the server sends a file to each connection; every byte is checked ---------- */

/* Makes `opt_file` hold opt_bytes of the stream pattern (connection 0's) unless it already does. */
static int write_download_file(void) {
  struct stat st;
  if (stat(opt_file, &st) == 0 && st.st_size == opt_bytes) return 0;
  FILE *f = fopen(opt_file, "wb");
  if (f == NULL) return -1;
  for (long long at = 0; at < opt_bytes;) {
    long long left = opt_bytes - at;
    size_t want = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
    if (fwrite(pattern_at(0, at), 1, want, f) != want) {
      fclose(f);
      return -1;
    }
    at += (long long)want;
  }
  return fclose(f);
}

/* `n` connections at once, each reading the whole file (opt_bytes) until the server closes it. */
static void run_download(void) {
  int n = opt_conns > 0 ? opt_conns : 4;
  pattern = malloc(PATTERN_PERIOD + IO_CHUNK);
  fill_message(pattern, PATTERN_PERIOD, 7, 7);
  memcpy(pattern + PATTERN_PERIOD, pattern, IO_CHUNK);
  if (opt_file == NULL || write_download_file() != 0) {
    fail("cannot write the file to download (--file)");
    print_result("download", 0, "MiB/s", 0, 0, NULL);
    return;
  }
  unsigned char *buf = malloc(IO_CHUNK);
  streamer *ss = calloc((size_t)n, sizeof *ss);
  announce_measuring();
  double t0 = now(), cpu0 = cpu_seconds();
  for (int i = 0; i < n; i++) {
    ss[i].id = (unsigned)i;
    ss[i].fd = tcp_connect();
    if (ss[i].fd < 0 || wait_connected(ss[i].fd) < 0) {
      print_result("download", 0, "MiB/s", 0, 0, NULL);
      return;
    }
    ep_ctl(EPOLL_CTL_ADD, ss[i].fd, EPOLLIN, &ss[i]);
  }
  long long total = opt_bytes * n, received = 0;
  int open_conns = n;
  struct epoll_event evs[64];
  double t = t0;
  while (errors == 0 && open_conns > 0) {
    if (t - t0 > opt_timeout) {
      fail("timed out after %.0f s with %lld of %lld bytes received", opt_timeout, received, total);
      break;
    }
    int k = epoll_wait(ep, evs, 64, 100);
    t = now();
    for (int e = 0; e < k && errors == 0; e++) {
      streamer *s = evs[e].data.ptr;
      for (int reads = 0; reads < 16; reads++) {
        ssize_t r = recv(s->fd, buf, IO_CHUNK, 0);
        if (r < 0) {
          if (errno != EAGAIN) fail("recv: %s", strerror(errno));
          break;
        }
        if (r == 0) {
          if (s->received != opt_bytes)
            fail("connection %u closed after %lld of %lld bytes", s->id, s->received, opt_bytes);
          ep_ctl(EPOLL_CTL_DEL, s->fd, 0, NULL);
          close(s->fd);
          open_conns--;
          break;
        }
        if (s->received + r > opt_bytes) {
          fail("connection %u got more than the file's %lld bytes", s->id, opt_bytes);
          break;
        }
        if (memcmp(buf, pattern_at(0, s->received), (size_t)r) != 0) {
          fail("file mismatch on connection %u near offset %lld", s->id, s->received);
          break;
        }
        s->received += r;
        received += r;
        if (r < IO_CHUNK) break;
      }
    }
  }
  double elapsed = now() - t0;
  double cpu = (cpu_seconds() - cpu0) / elapsed;
  char extra[160];
  snprintf(extra, sizeof extra, ",\"bytes\":%lld,\"conns\":%d,\"bytes_per_conn\":%lld", received, n, opt_bytes);
  print_result("download", received / 1048576.0 / elapsed, "MiB/s", elapsed, cpu, extra);
}

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen pingpong|stream|connrate|udp|chat|joinstorm|idle|download --port P [--host H] [--conns N]\n"
          "         [--size B] [--duration S] [--warmup S] [--timeout S] [--bytes N] [--senders N]\n"
          "         [--window N] [--hold S] [--file PATH]\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  const char *mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) opt_host = v;
    else if (!strcmp(a, "--port")) opt_port = atoi(v);
    else if (!strcmp(a, "--conns")) opt_conns = atoi(v);
    else if (!strcmp(a, "--size")) opt_size = atoi(v);
    else if (!strcmp(a, "--duration")) opt_duration = atof(v);
    else if (!strcmp(a, "--warmup")) opt_warmup = atof(v);
    else if (!strcmp(a, "--timeout")) opt_timeout = atof(v);
    else if (!strcmp(a, "--bytes")) opt_bytes = atoll(v);
    else if (!strcmp(a, "--senders")) opt_senders = atoi(v);
    else if (!strcmp(a, "--window")) opt_window = atoi(v), opt_window_set = 1;
    else if (!strcmp(a, "--hold")) opt_hold = atof(v);
    else if (!strcmp(a, "--file")) opt_file = v;
    else usage();
  }
  if (opt_port <= 0 || opt_size <= 0 || opt_size > MAX_MSG || opt_duration <= 0 || opt_window <= 0) usage();
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  if (!strcmp(mode, "pingpong")) run_pingpong();
  else if (!strcmp(mode, "connrate")) run_connrate();
  else if (!strcmp(mode, "udp")) run_udp();
  else if (!strcmp(mode, "stream")) run_stream();
  else if (!strcmp(mode, "chat")) run_chat();
  else if (!strcmp(mode, "joinstorm")) run_joinstorm();
  else if (!strcmp(mode, "idle")) run_idle();
  else if (!strcmp(mode, "download")) run_download();
  else usage();
  return 0;
}
