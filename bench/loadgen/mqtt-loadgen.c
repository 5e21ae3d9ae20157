/*
 * mqtt-loadgen: the C load generator, the same three roles as the Node one (publisher.ts,
 * subscriber.ts, storm.ts) and the same wire behaviour, at a fraction of its CPU per message:
 * one epoll loop, no allocation per message, one clock read per read().
 *
 * Built by the harness at run time (bench/lib/c-loadgen.ts): cc -O2 -o mqtt-loadgen mqtt-loadgen.c -lssl -lcrypto
 * Run:   mqtt-loadgen publisher  host=H port=P id=ID topic=T qos=0|1 payload=N seed=S index=I batch=B pings=K window=W refill=R [topics=N]
 *        mqtt-loadgen subscriber host=H port=P idprefix=X first=F count=N filter=F qos=0|1
 *        mqtt-loadgen storm      host=H port=P idprefix=X clients=N concurrency=C keepalive=S seed=S [credentials=FILE]
 *                                [tls=1 ca=FILE [sessin=FILE] [sessout=FILE]]   (TLS: mqtt-loadgen-tls.h)
 *        mqtt-loadgen bucket V…  (prints the histogram bucket of each value: a test hook)
 * Control: one command per line on stdin (start, mark begin, mark end, stop); replies are JSON
 * lines on stdout with the shapes of bench/loadgen/protocol.ts (ready, connected, report, error).
 * EOF on stdin (the harness is gone) exits at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>

/* ---- histogram: identical buckets to bench/lib/histogram.ts ---- */
#define SUB_BITS 6
#define SUB_BUCKETS (1 << SUB_BITS)
#define MAX_EXPONENT 36
#define BUCKETS ((MAX_EXPONENT - SUB_BITS + 2) * SUB_BUCKETS)
typedef struct { double counts[BUCKETS]; double count, sum, max; } hist_t;

static int bucket_of(double micros) {
  uint64_t v = micros < 0 ? 0 : (uint64_t)micros;
  if (v < SUB_BUCKETS) return (int)v;
  int e = 63 - __builtin_clzll(v), shift = e - SUB_BITS;
  int index = (shift + 1) * SUB_BUCKETS + (int)((v >> shift) - SUB_BUCKETS);
  return index < BUCKETS ? index : BUCKETS - 1;
}
static void hist_record(hist_t *h, double micros) {
  if (micros < 0) micros = 0;
  h->counts[bucket_of(micros)] += 1; h->count += 1; h->sum += micros;
  if (micros > h->max) h->max = micros;
}
static void hist_print(const char *name, const hist_t *h) {
  printf("\"%s\":{\"buckets\":[", name);
  int first = 1;
  for (int i = 0; i < BUCKETS; i++) if (h->counts[i] > 0) { printf("%s[%d,%.0f]", first ? "" : ",", i, h->counts[i]); first = 0; }
  printf("],\"count\":%.0f,\"sumMicros\":%.0f,\"maxMicros\":%.0f}", h->count, h->sum, h->max);
}

/* ---- mulberry32: identical to bench/loadgen/prng.ts ---- */
static uint32_t prng_state;
static double prng_next(void) {
  uint32_t t = (prng_state += 0x6d2b79f5u);
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

static double now_micros(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static void fail(const char *what) {
  printf("{\"type\":\"error\",\"message\":\"%s: %s\"}\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

/* ---- arguments ---- */
static int g_argc; static char **g_argv;
static const char *arg(const char *key, const char *fallback) {
  size_t n = strlen(key);
  for (int i = 2; i < g_argc; i++) if (strncmp(g_argv[i], key, n) == 0 && g_argv[i][n] == '=') return g_argv[i] + n + 1;
  if (fallback == NULL) { fprintf(stderr, "mqtt-loadgen: missing %s=\n", key); exit(2); }
  return fallback;
}
static long iarg(const char *key) { return strtol(arg(key, NULL), NULL, 10); }

/* ---- connections ---- */
enum { PT_CONNACK = 2, PT_PUBLISH = 3, PT_PUBACK = 4, PT_SUBACK = 9, PT_PINGRESP = 13 };
typedef struct { unsigned char *data; size_t len, off, cap; } buf_t;
enum state { ST_CONNECTING, ST_HANDSHAKE, ST_CONNACK, ST_SUBACK, ST_READY, ST_CLOSED };
/* `ssl`: the connection's OpenSSL object (an SSL *) when the storm runs over TLS, else NULL. */
typedef struct conn { int fd; enum state st; buf_t in, out; double began; int want_out; int tag; void *ssl; } conn_t;

static int epfd;
static struct sockaddr_storage addr; static socklen_t addrlen;

static void buf_reserve(buf_t *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + extra) cap *= 2;
  b->data = realloc(b->data, cap);
  if (!b->data) fail("realloc");
  b->cap = cap;
}
static void buf_put(buf_t *b, const void *p, size_t n) { buf_reserve(b, n); memcpy(b->data + b->len, p, n); b->len += n; }

static void arm(conn_t *c, int want_out);
/* TLS reads and writes (mqtt-loadgen-tls.h): same contract as read()/write(), EAGAIN included. */
static ssize_t tls_write(conn_t *c, const void *p, size_t n);
static ssize_t tls_read(conn_t *c, void *p, size_t n);
static void arm(conn_t *c, int want_out) {
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c };
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl");
  c->want_out = want_out;
}

/* Writes what it can; the rest waits for EPOLLOUT. Returns -1 when the peer is gone. */
static int flush_out(conn_t *c) {
  while (c->out.off < c->out.len) {
    ssize_t n = c->ssl ? tls_write(c, c->out.data + c->out.off, c->out.len - c->out.off) : write(c->fd, c->out.data + c->out.off, c->out.len - c->out.off);
    if (n < 0) { if (errno == EAGAIN) { if (!c->want_out) arm(c, 1); return 0; } return -1; }
    c->out.off += (size_t)n;
  }
  c->out.len = c->out.off = 0;
  if (c->want_out) arm(c, 0);
  return 0;
}

static conn_t *open_conn(void) {
  conn_t *c = calloc(1, sizeof *c);
  if (!c) fail("calloc");
  c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) fail("socket");
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->began = now_micros();
  if (connect(c->fd, (struct sockaddr *)&addr, addrlen) < 0 && errno != EINPROGRESS) fail("connect");
  c->st = ST_CONNECTING;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) fail("epoll_ctl add");
  c->want_out = 1;
  return c;
}
static void tls_free(conn_t *c);
static void close_conn(conn_t *c) {
  if (c->st == ST_CLOSED) return;
  tls_free(c);
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->st = ST_CLOSED;
}

static size_t put_varint(unsigned char *p, size_t v) {
  size_t n = 0;
  do { unsigned char b = v % 128; v /= 128; if (v) b |= 0x80; p[n++] = b; } while (v);
  return n;
}
static void put_string(conn_t *c, const char *text, size_t len) {
  unsigned char l[2] = { (unsigned char)(len >> 8), (unsigned char)len };
  buf_put(&c->out, l, 2); buf_put(&c->out, text, len);
}
/* CONNECT, clean session; user name and password (MQTT-3.1.2-18, -19) when `user` is not NULL. */
enum { CONNECT_CLEAN_SESSION = 0x02, CONNECT_PASSWORD = 0x40, CONNECT_USERNAME = 0x80 };
static void put_connect(conn_t *c, const char *id, int keepalive, const char *user, const char *pass) {
  size_t idlen = strlen(id), ulen = user ? strlen(user) : 0, plen = pass ? strlen(pass) : 0;
  size_t body = 10 + 2 + idlen + (user ? 2 + ulen : 0) + (pass ? 2 + plen : 0);
  unsigned char flags = CONNECT_CLEAN_SESSION | (user ? CONNECT_USERNAME : 0) | (pass ? CONNECT_PASSWORD : 0);
  unsigned char h[16] = { 0x10 }, v[10] = { 0, 4, 'M', 'Q', 'T', 'T', 4, flags, (unsigned char)(keepalive >> 8), (unsigned char)keepalive };
  size_t n = 1 + put_varint(h + 1, body);
  buf_put(&c->out, h, n); buf_put(&c->out, v, 10);
  put_string(c, id, idlen);
  if (user) put_string(c, user, ulen);
  if (pass) put_string(c, pass, plen);
}
static void put_subscribe(conn_t *c, const char *filter, int qos) {
  size_t flen = strlen(filter);
  unsigned char h[8] = { 0x82 }, m[4] = { 0, 1, (unsigned char)(flen >> 8), (unsigned char)flen }, q = (unsigned char)qos;
  size_t n = 1 + put_varint(h + 1, 2 + 2 + flen + 1);
  buf_put(&c->out, h, n); buf_put(&c->out, m, 4); buf_put(&c->out, filter, flen); buf_put(&c->out, &q, 1);
}

/* Reads once and hands each complete packet to `visit`; returns -1 when the peer closed. */
typedef void (*visit_fn)(conn_t *c, int type, int flags, unsigned char *body, size_t len, double now);
static int read_packets(conn_t *c, visit_fn visit) {
  buf_reserve(&c->in, 262144);
  ssize_t n = c->ssl ? tls_read(c, c->in.data + c->in.len, c->in.cap - c->in.len) : read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
  if (n == 0) return -1;
  if (n < 0) return errno == EAGAIN ? 0 : -1;
  c->in.len += (size_t)n;
  double now = now_micros();
  size_t at = 0;
  while (c->in.len - at >= 2) {
    size_t rem = 0, mul = 1, p = at + 1; int done = 0;
    for (int i = 0; i < 4 && p < c->in.len; i++) {
      unsigned char b = c->in.data[p++];
      rem += (b & 0x7f) * mul; mul *= 128;
      if (!(b & 0x80)) { done = 1; break; }
    }
    if (!done || p + rem > c->in.len) break;
    unsigned char first = c->in.data[at];
    visit(c, first >> 4, first & 15, c->in.data + p, rem, now);
    at = p + rem;
  }
  memmove(c->in.data, c->in.data + at, c->in.len - at);
  c->in.len -= at;
  return 0;
}

/* Completes a non-blocking connect and sends CONNECT (`user`, `pass`: NULL for none). */
static int on_connected(conn_t *c, const char *id, int keepalive, const char *user, const char *pass) {
  int err = 0; socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) { errno = err; return -1; }
  c->st = ST_CONNACK;
  put_connect(c, id, keepalive, user, pass);
  return flush_out(c);
}

/* ---- control channel ---- */
static int running, recording, stopping;
static char cmdbuf[256]; static size_t cmdlen;
typedef void (*cmd_fn)(const char *line);
static void read_commands(cmd_fn on_cmd) {
  ssize_t n = read(0, cmdbuf + cmdlen, sizeof cmdbuf - 1 - cmdlen);
  if (n <= 0) { if (n < 0 && errno == EAGAIN) return; exit(0); }
  cmdlen += (size_t)n;
  char *nl;
  while ((nl = memchr(cmdbuf, '\n', cmdlen)) != NULL) {
    *nl = 0;
    on_cmd(cmdbuf);
    size_t used = (size_t)(nl - cmdbuf) + 1;
    memmove(cmdbuf, cmdbuf + used, cmdlen - used);
    cmdlen -= used;
  }
}
static void reply(const char *json) { fputs(json, stdout); fputc('\n', stdout); fflush(stdout); }
static void setup(const char *host, const char *port) {
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
  if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL) { errno = EINVAL; fail("getaddrinfo"); }
  memcpy(&addr, res->ai_addr, res->ai_addrlen); addrlen = res->ai_addrlen;
  freeaddrinfo(res);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev);
}

static char t_tls_error[160];
#include "mqtt-loadgen-tls.h"
#include "mqtt-loadgen-roles.h"

int main(int argc, char **argv) {
  g_argc = argc; g_argv = argv;
  signal_setup();
  if (argc >= 2 && strcmp(argv[1], "bucket") == 0) {
    for (int i = 2; i < argc; i++) printf("%d\n", bucket_of(strtod(argv[i], NULL)));
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "publisher") == 0) run_publisher();
  if (argc >= 2 && strcmp(argv[1], "subscriber") == 0) run_subscriber();
  if (argc >= 2 && strcmp(argv[1], "storm") == 0) run_storm();
  fprintf(stderr, "usage: mqtt-loadgen publisher|subscriber|storm key=value … | bucket V…\n");
  return 2;
}
