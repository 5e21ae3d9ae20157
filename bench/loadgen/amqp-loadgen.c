/*
 * AMQP 1.0 load generator for the amqp-* scenarios, on Qpid Proton's C library (Debian's
 * libqpid-proton11: the engine and codec in C, the epoll proactor), so the generator costs a
 * small fraction of the broker it measures. One process, one connection, one link:
 *
 *   amqp-loadgen sender   host= port= address= payload= seed= index= window= [durable=0|1]
 *                         [outputname=NAME] [cafile= servername=] [user= password=] [container=]
 *   amqp-loadgen receiver host= port= address= payload= credit= [cafile= servername=] [user= password=]
 *
 * sender: transfers on a sending link to `address`, at most `window` unsettled (and never beyond
 * the link credit the broker grants), a new one for each settlement; counts the ones the broker
 * settled `accepted` (and the rest), and the transfer → disposition round trip.
 * receiver: a receiving link from `address` with `credit` granted (given back in quarters), each
 * delivery accepted and settled; latency = receive time − the timestamp in the body.
 * The message is encoded once (pn_message_encode); each transfer patches the body's first 8 bytes
 * (CLOCK_MONOTONIC µs, shared by all processes) and sends the same bytes again.
 * TLS when cafile= is given (the broker's certificate checked against it for `servername`); SASL
 * PLAIN when user= is given (the hub: `{device}[/modules/{m}]@sas.{hub}` and the SAS token),
 * otherwise no SASL layer (the AMQP header right away, as the Azure SDK does).
 *
 * Control: the lines of bench/loadgen/protocol.ts on stdin (start, mark begin, mark end, stop),
 * JSON lines on stdout (ready, report, error), as mqtt-loadgen.c. EOF on stdin exits.
 */
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/message.h>
#include <proton/proactor.h>
#include <proton/sasl.h>
#include <proton/session.h>
#include <proton/ssl.h>
#include <proton/transport.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- histogram: identical buckets to bench/lib/histogram.ts (as mqtt-loadgen.c) ---- */
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

/* ---- arguments ---- */
static int g_argc; static char **g_argv;
static const char *arg(const char *key, const char *fallback) {
  size_t n = strlen(key);
  for (int i = 2; i < g_argc; i++) if (strncmp(g_argv[i], key, n) == 0 && g_argv[i][n] == '=') return g_argv[i] + n + 1;
  if (fallback == NULL) { fprintf(stderr, "amqp-loadgen: missing %s=\n", key); exit(2); }
  return fallback;
}
static long iarg(const char *key, const char *fallback) { return strtol(arg(key, fallback), NULL, 10); }

static void json_error(const char *what, const char *detail) {
  printf("{\"type\":\"error\",\"message\":\"%s: ", what);
  for (const char *p = detail; p && *p; p++) if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) putchar(*p);
  printf("\"}\n");
  fflush(stdout);
  exit(1);
}

/* ---- control, read by a thread of its own: the proactor does not watch stdin ---- */
enum { CMD_START = 1, CMD_BEGIN = 2, CMD_END = 4, CMD_STOP = 8 };
static atomic_int pending_cmds;
static pn_proactor_t *proactor;

static void *control_thread(void *unused) {
  (void)unused;
  char line[128];
  while (fgets(line, sizeof line, stdin) != NULL) {
    int cmd = strncmp(line, "start", 5) == 0 ? CMD_START : strncmp(line, "mark begin", 10) == 0 ? CMD_BEGIN
            : strncmp(line, "mark end", 8) == 0 ? CMD_END : strncmp(line, "stop", 4) == 0 ? CMD_STOP : 0;
    if (cmd == 0) continue;
    atomic_fetch_or(&pending_cmds, cmd);
    pn_proactor_interrupt(proactor);
  }
  exit(0); /* the harness is gone */
  return NULL;
}

/* ---- state ---- */
static int is_sender, running, ready_sent;
static pn_link_t *link_;
static pn_connection_t *connection_;
static long window, credit_window, payload_bytes, durable;
static char *encoded; static size_t encoded_len;
static uint64_t next_tag, inflight;
#define RING 65536
static double sent_at[RING];
static uint64_t sent_total, acked_total, refused_total, received_total, owed_credit;
static uint64_t sent_begin, sent_end = UINT64_MAX, acked_begin, acked_end = UINT64_MAX, recv_begin, recv_end = UINT64_MAX;
static int recording;
static hist_t latency;
static char *recv_buf; static size_t recv_cap;

static void build_message(void) {
  unsigned char *body = malloc((size_t)payload_bytes);
  prng_state = (uint32_t)iarg("seed", "1");
  for (long i = 0; i < payload_bytes; i++) body[i] = (unsigned char)(prng_next() * 256);
  uint32_t index = (uint32_t)iarg("index", "0");
  if (payload_bytes >= 12) memcpy(body + 8, &index, 4);
  pn_message_t *m = pn_message();
  pn_message_set_durable(m, durable != 0);
  const char *output = arg("outputname", "");
  if (*output) {
    pn_data_t *props = pn_message_properties(m);
    pn_data_put_map(props);
    pn_data_enter(props);
    pn_data_put_string(props, pn_bytes(strlen("iothub-outputname"), "iothub-outputname"));
    pn_data_put_string(props, pn_bytes(strlen(output), output));
    pn_data_exit(props);
  }
  pn_data_t *b = pn_message_body(m);
  pn_data_put_binary(b, pn_bytes((size_t)payload_bytes, (const char *)body));
  size_t cap = 4096 + (size_t)payload_bytes;
  encoded = malloc(cap);
  encoded_len = cap;
  if (pn_message_encode(m, encoded, &encoded_len) != 0) json_error("encode", pn_error_text(pn_message_error(m)));
  pn_message_free(m);
  free(body);
}

static void send_more(void) {
  if (!running || link_ == NULL) return;
  while (inflight < (uint64_t)window && pn_link_credit(link_) > 0) {
    uint64_t tag = next_tag++;
    double now = now_micros();
    /* The body is the last section of the encoded message: its first 8 bytes are the timestamp. */
    memcpy(encoded + encoded_len - (size_t)payload_bytes, &now, sizeof now);
    sent_at[tag % RING] = now;
    pn_delivery(link_, pn_dtag((const char *)&tag, sizeof tag));
    pn_link_send(link_, encoded, encoded_len);
    pn_link_advance(link_);
    inflight++;
    sent_total++;
  }
}

static void report(void) {
  uint64_t se = sent_end == UINT64_MAX ? sent_total : sent_end, ae = acked_end == UINT64_MAX ? acked_total : acked_end;
  uint64_t re = recv_end == UINT64_MAX ? received_total : recv_end;
  if (is_sender) {
    printf("{\"type\":\"report\",\"report\":{\"role\":\"publisher\",\"sentTotal\":%llu,\"sentInWindow\":%llu,\"ackedInWindow\":%llu,\"refusedTotal\":%llu,",
           (unsigned long long)sent_total, (unsigned long long)(se - sent_begin), (unsigned long long)(ae - acked_begin), (unsigned long long)refused_total);
    hist_print("ackLatency", &latency);
  } else {
    printf("{\"type\":\"report\",\"report\":{\"role\":\"subscriber\",\"receivedTotal\":%llu,\"receivedInWindow\":%llu,",
           (unsigned long long)received_total, (unsigned long long)(re - recv_begin));
    hist_print("latency", &latency);
  }
  printf("}}\n");
  fflush(stdout);
}

static void commands(void) {
  int cmd = atomic_exchange(&pending_cmds, 0);
  if (cmd & CMD_START) { running = 1; send_more(); }
  if (cmd & CMD_BEGIN) { recording = 1; sent_begin = sent_total; acked_begin = acked_total; recv_begin = received_total; }
  if (cmd & CMD_END) { recording = 0; sent_end = sent_total; acked_end = acked_total; recv_end = received_total; }
  if (cmd & CMD_STOP) { report(); exit(0); }
}

static void on_sender_delivery(pn_delivery_t *d) {
  if (!pn_delivery_updated(d)) return;
  uint64_t state = pn_delivery_remote_state(d);
  if (state == 0 && !pn_delivery_settled(d)) return; /* a transfer not yet disposed of */
  pn_delivery_tag_t tag = pn_delivery_tag(d);
  uint64_t t = 0;
  memcpy(&t, tag.start, tag.size < sizeof t ? tag.size : sizeof t);
  if (state == PN_ACCEPTED) {
    acked_total++;
    if (recording) hist_record(&latency, now_micros() - sent_at[t % RING]);
  } else {
    refused_total++;
  }
  pn_delivery_settle(d);
  inflight--;
}

static void on_receiver_delivery(pn_delivery_t *d) {
  if (!pn_delivery_readable(d) || pn_delivery_partial(d)) return;
  size_t size = pn_delivery_pending(d);
  if (size > recv_cap) { recv_cap = size * 2; recv_buf = realloc(recv_buf, recv_cap); }
  ssize_t n = pn_link_recv(link_, recv_buf, size);
  pn_delivery_update(d, PN_ACCEPTED);
  pn_delivery_settle(d);
  received_total++;
  if (recording && n >= payload_bytes) {
    double sent;
    memcpy(&sent, recv_buf + n - payload_bytes, sizeof sent);
    hist_record(&latency, now_micros() - sent);
  }
  if (++owed_credit >= (uint64_t)(credit_window / 4 > 0 ? credit_window / 4 : 1)) {
    pn_link_flow(link_, (int)owed_credit);
    owed_credit = 0;
  }
}

static void check_condition(const char *what, pn_condition_t *cond) {
  if (cond != NULL && pn_condition_is_set(cond)) {
    char text[512];
    snprintf(text, sizeof text, "%s %s", pn_condition_get_name(cond), pn_condition_get_description(cond) ? pn_condition_get_description(cond) : "");
    json_error(what, text);
  }
}

static void handle(pn_event_t *e) {
  switch (pn_event_type(e)) {
  case PN_CONNECTION_INIT: {
    pn_connection_t *c = pn_event_connection(e);
    connection_ = c;
    pn_connection_set_container(c, arg("container", "outpost-bench-amqp"));
    pn_connection_set_hostname(c, arg("servername", "localhost"));
    const char *user = arg("user", "");
    if (*user) { pn_connection_set_user(c, user); pn_connection_set_password(c, arg("password", "")); }
    pn_connection_open(c);
    pn_session_t *s = pn_session(c);
    pn_session_open(s);
    const char *address = arg("address", NULL);
    if (is_sender) {
      link_ = pn_sender(s, "bench-sender");
      pn_terminus_set_address(pn_link_target(link_), address);
      pn_link_set_snd_settle_mode(link_, PN_SND_UNSETTLED);
    } else {
      link_ = pn_receiver(s, "bench-receiver");
      pn_terminus_set_address(pn_link_source(link_), address);
    }
    pn_link_open(link_);
    if (!is_sender) pn_link_flow(link_, (int)credit_window);
    break;
  }
  case PN_LINK_REMOTE_OPEN:
    if (pn_event_link(e) == link_ && !ready_sent) {
      if (pn_link_remote_target(link_) == NULL && pn_link_remote_source(link_) == NULL) json_error("attach", "refused");
      ready_sent = 1;
      printf("{\"type\":\"ready\"}\n");
      fflush(stdout);
    }
    break;
  case PN_LINK_FLOW:
    if (is_sender) send_more();
    break;
  case PN_DELIVERY: {
    pn_delivery_t *d = pn_event_delivery(e);
    if (is_sender) { on_sender_delivery(d); send_more(); }
    else on_receiver_delivery(d);
    break;
  }
  case PN_LINK_REMOTE_CLOSE:
  case PN_LINK_REMOTE_DETACH:
    check_condition("link closed by the broker", pn_link_remote_condition(pn_event_link(e)));
    json_error("link closed by the broker", "no condition");
    break;
  case PN_CONNECTION_REMOTE_CLOSE:
    check_condition("connection closed by the broker", pn_connection_remote_condition(pn_event_connection(e)));
    json_error("connection closed by the broker", "no condition");
    break;
  case PN_TRANSPORT_CLOSED:
    check_condition("transport", pn_transport_condition(pn_event_transport(e)));
    json_error("transport", "closed");
    break;
  case PN_PROACTOR_INTERRUPT:
    /* Not the connection's batch: its state may be touched only in its own, so wake it. */
    if (connection_ != NULL) pn_connection_wake(connection_);
    else commands();
    break;
  case PN_CONNECTION_WAKE:
    commands();
    break;
  default:
    break;
  }
}

int main(int argc, char **argv) {
  g_argc = argc; g_argv = argv;
  if (argc < 2 || (strcmp(argv[1], "sender") != 0 && strcmp(argv[1], "receiver") != 0)) {
    fprintf(stderr, "usage: amqp-loadgen sender|receiver key=value …\n");
    return 2;
  }
  is_sender = strcmp(argv[1], "sender") == 0;
  payload_bytes = iarg("payload", "256");
  if (payload_bytes < 8) payload_bytes = 8;
  window = iarg("window", "1000");
  if (window > RING / 2) window = RING / 2;
  credit_window = iarg("credit", "1000");
  durable = iarg("durable", "0");
  if (is_sender) build_message();
  proactor = pn_proactor();
  char addr[300];
  pn_proactor_addr(addr, sizeof addr, arg("host", "127.0.0.1"), arg("port", NULL));
  /* TLS and SASL are set on the transport before it connects (they decide its first bytes). */
  pn_transport_t *t = pn_transport();
  const char *cafile = arg("cafile", "");
  if (*cafile) {
    pn_ssl_domain_t *domain = pn_ssl_domain(PN_SSL_MODE_CLIENT);
    if (pn_ssl_domain_set_trusted_ca_db(domain, cafile) != 0) json_error("tls", "cannot read cafile");
    pn_ssl_domain_set_peer_authentication(domain, PN_SSL_VERIFY_PEER_NAME, NULL);
    pn_ssl_t *ssl = pn_ssl(t);
    if (pn_ssl_init(ssl, domain, NULL) != 0) json_error("tls", "pn_ssl_init failed");
    pn_ssl_set_peer_hostname(ssl, arg("servername", "localhost"));
    pn_ssl_domain_free(domain);
  }
  if (*arg("user", "")) pn_sasl_allowed_mechs(pn_sasl(t), "PLAIN");
  pn_proactor_connect2(proactor, NULL, t, addr);
  pthread_t control;
  pthread_create(&control, NULL, control_thread, NULL);
  for (;;) {
    pn_event_batch_t *batch = pn_proactor_wait(proactor);
    pn_event_t *e;
    while ((e = pn_event_batch_next(batch)) != NULL) handle(e);
    pn_proactor_done(proactor, batch);
  }
}
