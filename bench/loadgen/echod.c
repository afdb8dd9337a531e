/*
 * echod: a minimal epoll echo server in C (TCP or UDP), the benchmark's calibration point. The load
 * generator drives it much harder than any server under test, which shows that the load generator
 * is not what limits the other numbers.
 *
 *   echod tcp|udp [port]       prints "listening PORT" when ready; SIGTERM stops it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)

typedef struct {
  int fd;
  char *buf;
  int len, off; /* bytes read and not yet written back: buf[off..len) */
} conn;

static int ep;

static void ep_ctl(int op, int fd, uint32_t events, void *ptr) {
  struct epoll_event ev = {.events = events, .data.ptr = ptr};
  epoll_ctl(ep, op, fd, &ev);
}

static void drop(conn *c) {
  close(c->fd);
  free(c->buf);
  free(c);
}

/* Echo what is readable; stop reading while the peer does not take our writes. */
static void serve(conn *c) {
  for (;;) {
    while (c->off < c->len) {
      ssize_t w = send(c->fd, c->buf + c->off, (size_t)(c->len - c->off), MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN) {
          ep_ctl(EPOLL_CTL_MOD, c->fd, EPOLLOUT, c);
          return;
        }
        drop(c);
        return;
      }
      c->off += (int)w;
    }
    ssize_t r = recv(c->fd, c->buf, BUF, 0);
    if (r < 0 && errno == EAGAIN) {
      ep_ctl(EPOLL_CTL_MOD, c->fd, EPOLLIN, c);
      return;
    }
    if (r <= 0) {
      drop(c);
      return;
    }
    c->len = (int)r;
    c->off = 0;
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp"))) {
    fprintf(stderr, "usage: echod tcp|udp [port]\n");
    return 2;
  }
  int udp = !strcmp(argv[1], "udp");
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int lfd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(argc > 2 ? atoi(argv[2]) : 0)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || (!udp && listen(lfd, 4096) < 0)) {
    perror("echod: bind/listen");
    return 1;
  }
  socklen_t slen = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &slen);
  printf("listening %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  ep = epoll_create1(EPOLL_CLOEXEC);
  ep_ctl(EPOLL_CTL_ADD, lfd, EPOLLIN, NULL);
  struct epoll_event evs[256];
  static char dgram[65536];
  for (;;) {
    int k = epoll_wait(ep, evs, 256, -1);
    for (int e = 0; e < k; e++) {
      conn *c = evs[e].data.ptr;
      if (c != NULL) {
        serve(c);
        continue;
      }
      if (udp) {
        for (;;) {
          struct sockaddr_in from;
          socklen_t flen = sizeof from;
          ssize_t r = recvfrom(lfd, dgram, sizeof dgram, 0, (struct sockaddr *)&from, &flen);
          if (r < 0) break;
          sendto(lfd, dgram, (size_t)r, 0, (struct sockaddr *)&from, flen);
        }
        continue;
      }
      for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *nc = calloc(1, sizeof *nc);
        nc->fd = fd;
        nc->buf = malloc(BUF);
        ep_ctl(EPOLL_CTL_ADD, fd, EPOLLIN, nc);
      }
    }
  }
}
