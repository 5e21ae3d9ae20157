/*
 * The three roles of mqtt-loadgen.c (included by it; not a separate compilation unit). Each
 * mirrors its Node twin: publisher.ts, subscriber.ts, storm.ts; see those for the reasoning.
 */
#include <signal.h>

static void signal_setup(void) { signal(SIGPIPE, SIG_IGN); }
static const unsigned char DISCONNECT_PKT[2] = { 0xe0, 0 };
static const unsigned char PINGREQ_PKT[2] = { 0xc0, 0 };

static void put_double_be(unsigned char *p, double v) { uint64_t u; memcpy(&u, &v, 8); u = htobe64(u); memcpy(p, &u, 8); }
static double get_double_be(const unsigned char *p) { uint64_t u; memcpy(&u, p, 8); u = be64toh(u); double v; memcpy(&v, &u, 8); return v; }

/* ---- publisher ---- */
static conn_t *pc;
static int p_qos, p_batch, p_pings, p_window, p_pings_out, p_inflight;
static unsigned p_next_id = 1;
static unsigned char *p_tmpl; static size_t p_tmpl_len, p_ts_off, p_id_off;
static double p_sent, p_acked, p_sent_begin, p_sent_end = -1, p_acked_begin, p_acked_end = -1, p_deadline;
static double p_sent_at[65536];
static hist_t p_ack_hist;
/* topics=N: the last digit run of the topic (at p_digits_off, p_digits_width wide) takes 0 … N-1 in turn. */
static long p_topics, p_topic_next;
static size_t p_digits_off, p_digits_width;

static void p_next_topic(unsigned char *m) {
  if (p_topics <= 0) return;
  long v = p_topic_next;
  p_topic_next = v + 1 == p_topics ? 0 : v + 1;
  for (size_t w = p_digits_width; w > 0; w--) { m[p_digits_off + w - 1] = (unsigned char)('0' + v % 10); v /= 10; }
}

static void p_finish(void) {
  buf_put(&pc->out, DISCONNECT_PKT, 2);
  flush_out(pc);
  shutdown(pc->fd, SHUT_WR);
  close_conn(pc);
  double end = p_sent_end < 0 ? p_sent : p_sent_end, aend = p_acked_end < 0 ? p_acked : p_acked_end;
  printf("{\"type\":\"report\",\"report\":{\"role\":\"publisher\",\"sentTotal\":%.0f,\"sentInWindow\":%.0f,\"ackedInWindow\":%.0f,",
         p_sent, end - p_sent_begin, p_qos == 0 ? end - p_sent_begin : aend - p_acked_begin);
  hist_print("ackLatency", &p_ack_hist);
  printf("}}\n");
  fflush(stdout);
  exit(0);
}
static void p_send_batch(void) {
  size_t bytes = p_tmpl_len * (size_t)p_batch;
  buf_reserve(&pc->out, bytes + 2);
  unsigned char *at = pc->out.data + pc->out.len;
  double now = now_micros();
  for (int i = 0; i < p_batch; i++) { memcpy(at + i * p_tmpl_len, p_tmpl, p_tmpl_len); put_double_be(at + i * p_tmpl_len + p_ts_off, now); p_next_topic(at + i * p_tmpl_len); }
  memcpy(at + bytes, PINGREQ_PKT, 2);
  pc->out.len += bytes + 2;
  p_pings_out++;
  p_sent += p_batch;
  if (flush_out(pc) < 0) fail("write");
}
static int p_refill_min = 1;
static void p_refill(void) {
  int count = p_window - p_inflight;
  if (!running || count <= 0 || count < p_refill_min) return;
  buf_reserve(&pc->out, p_tmpl_len * (size_t)count);
  unsigned char *at = pc->out.data + pc->out.len;
  double now = now_micros();
  for (int i = 0; i < count; i++) {
    unsigned id = p_next_id;
    p_next_id = id == 65535 ? 1 : id + 1;
    unsigned char *m = at + i * p_tmpl_len;
    memcpy(m, p_tmpl, p_tmpl_len);
    m[p_id_off] = (unsigned char)(id >> 8); m[p_id_off + 1] = (unsigned char)id;
    put_double_be(m + p_ts_off, now);
    p_next_topic(m);
    p_sent_at[id] = now;
  }
  pc->out.len += p_tmpl_len * (size_t)count;
  p_inflight += count;
  p_sent += count;
  if (flush_out(pc) < 0) fail("write");
}
static void p_visit(conn_t *c, int type, int flags, unsigned char *body, size_t len, double now) {
  (void)flags; (void)len;
  if (c->st == ST_CONNACK) {
    if (type != PT_CONNACK || body[1] != 0) { errno = ECONNREFUSED; fail("CONNACK refused"); }
    c->st = ST_READY;
    reply("{\"type\":\"ready\"}");
  } else if (type == PT_PINGRESP) {
    p_pings_out--;
    if (running) p_send_batch();
  } else if (type == PT_PUBACK) {
    unsigned id = (unsigned)body[0] << 8 | body[1];
    p_inflight--; p_acked++;
    if (recording) hist_record(&p_ack_hist, now - p_sent_at[id]);
  }
}
static void p_command(const char *line) {
  if (strcmp(line, "start") == 0) {
    running = 1;
    if (p_qos == 0) for (int i = 0; i < p_pings; i++) p_send_batch();
    else p_refill();
  } else if (strcmp(line, "mark begin") == 0) {
    p_sent_begin = p_sent; p_acked_begin = p_acked; memset(&p_ack_hist, 0, sizeof p_ack_hist); recording = 1;
  } else if (strcmp(line, "mark end") == 0) {
    p_sent_end = p_sent; p_acked_end = p_acked; recording = 0;
  } else if (strcmp(line, "stop") == 0) {
    running = 0; stopping = 1; p_deadline = now_micros() + 3e6;
  }
}
__attribute__((noreturn)) static void run_publisher(void) {
  setup(arg("host", NULL), arg("port", NULL));
  p_qos = (int)iarg("qos"); p_batch = (int)iarg("batch"); p_pings = (int)iarg("pings"); p_window = (int)iarg("window");
  p_refill_min = (int)iarg("refill");
  const char *topic = arg("topic", NULL);
  size_t payload = (size_t)iarg("payload"), tlen = strlen(topic), idb = p_qos ? 2 : 0, body = 2 + tlen + idb + payload;
  long index = iarg("index");
  prng_state = (uint32_t)(iarg("seed") + index);
  p_tmpl = calloc(1, body + 8);
  p_tmpl[0] = (unsigned char)(0x30 | (p_qos << 1));
  size_t h = 1 + put_varint(p_tmpl + 1, body);
  p_tmpl[h] = (unsigned char)(tlen >> 8); p_tmpl[h + 1] = (unsigned char)tlen;
  memcpy(p_tmpl + h + 2, topic, tlen);
  p_id_off = h + 2 + tlen; p_ts_off = p_id_off + idb;
  for (size_t i = 0; i < payload; i++) p_tmpl[p_ts_off + i] = (unsigned char)(prng_next() * 256);
  p_tmpl[p_ts_off + 8] = (unsigned char)(index >> 24); p_tmpl[p_ts_off + 9] = (unsigned char)(index >> 16);
  p_tmpl[p_ts_off + 10] = (unsigned char)(index >> 8); p_tmpl[p_ts_off + 11] = (unsigned char)index;
  p_tmpl_len = h + body;
  p_topics = strtol(arg("topics", "0"), NULL, 10);
  if (p_topics > 0) {
    size_t end = tlen;
    while (end > 0 && (topic[end - 1] < '0' || topic[end - 1] > '9')) end--;
    size_t start = end;
    while (start > 0 && topic[start - 1] >= '0' && topic[start - 1] <= '9') start--;
    long room = 1;
    for (size_t w = start; w < end && room <= p_topics; w++) room *= 10;
    if (end == start || room < p_topics) { errno = EINVAL; fail("topics=N needs a digit run in the topic wide enough for N - 1"); }
    p_digits_off = h + 2 + start; p_digits_width = end - start;
  }
  pc = open_conn();
  const char *id = arg("id", NULL);
  struct epoll_event evs[16];
  for (;;) {
    int n = epoll_wait(epfd, evs, 16, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) { read_commands(p_command); continue; }
      if (c->st == ST_CONNECTING) { if (on_connected(c, id, 0, NULL, NULL) < 0) fail("connect"); continue; }
      if ((evs[i].events & EPOLLOUT) && flush_out(c) < 0) fail("write");
      if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && read_packets(c, p_visit) < 0) { errno = ECONNRESET; fail("broker closed the connection"); }
      if (p_qos == 1) p_refill();
    }
    if (stopping && ((p_pings_out <= 0 && p_inflight <= 0) || now_micros() > p_deadline)) p_finish();
  }
}

/* ---- subscriber ---- */
static conn_t **sc; static int s_count, s_ready, s_qos;
static const char *s_filter;
static double s_received, s_begin, s_end = -1;
static hist_t s_hist;

static void s_visit(conn_t *c, int type, int flags, unsigned char *body, size_t len, double now) {
  (void)len;
  if (type == PT_PUBLISH) {
    s_received++;
    size_t tlen = (size_t)body[0] << 8 | body[1], idat = 2 + tlen;
    int q = (flags >> 1) & 3;
    if (recording) hist_record(&s_hist, now - get_double_be(body + idat + (q ? 2 : 0)));
    if (q == 1) { unsigned char ack[4] = { 0x40, 2, body[idat], body[idat + 1] }; buf_put(&c->out, ack, 4); }
  } else if (c->st == ST_CONNACK) {
    if (type != PT_CONNACK || body[1] != 0) { errno = ECONNREFUSED; fail("CONNACK refused"); }
    c->st = ST_SUBACK;
    put_subscribe(c, s_filter, s_qos);
    if (flush_out(c) < 0) fail("write");
  } else if (type == PT_SUBACK && c->st == ST_SUBACK) {
    if (body[2] == 0x80) { errno = EACCES; fail("SUBSCRIBE refused"); }
    c->st = ST_READY;
    if (++s_ready == s_count) reply("{\"type\":\"ready\"}");
  }
}
static void s_command(const char *line) {
  if (strcmp(line, "mark begin") == 0) { s_begin = s_received; memset(&s_hist, 0, sizeof s_hist); recording = 1; }
  else if (strcmp(line, "mark end") == 0) { s_end = s_received; recording = 0; }
  else if (strcmp(line, "stop") == 0) {
    for (int i = 0; i < s_count; i++) { buf_put(&sc[i]->out, DISCONNECT_PKT, 2); flush_out(sc[i]); shutdown(sc[i]->fd, SHUT_WR); close_conn(sc[i]); }
    printf("{\"type\":\"report\",\"report\":{\"role\":\"subscriber\",\"receivedTotal\":%.0f,\"receivedInWindow\":%.0f,", s_received, (s_end < 0 ? s_received : s_end) - s_begin);
    hist_print("latency", &s_hist);
    printf("}}\n");
    fflush(stdout);
    exit(0);
  }
}
__attribute__((noreturn)) static void run_subscriber(void) {
  setup(arg("host", NULL), arg("port", NULL));
  s_count = (int)iarg("count"); s_qos = (int)iarg("qos"); s_filter = arg("filter", NULL);
  const char *prefix = arg("idprefix", NULL);
  long first = iarg("first");
  char **ids = calloc((size_t)s_count, sizeof *ids);
  sc = calloc((size_t)s_count, sizeof *sc);
  for (int i = 0; i < s_count; i++) {
    if (asprintf(&ids[i], "%s%ld", prefix, first + i) < 0) fail("asprintf");
    sc[i] = open_conn();
    sc[i]->tag = i;
  }
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(epfd, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) { read_commands(s_command); continue; }
      if (c->st == ST_CONNECTING) { if (on_connected(c, ids[c->tag], 0, NULL, NULL) < 0) fail("connect"); continue; }
      if ((evs[i].events & EPOLLOUT) && flush_out(c) < 0) fail("write");
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (read_packets(c, s_visit) < 0) { errno = ECONNRESET; fail("broker closed the connection"); }
        if (c->out.len > c->out.off && flush_out(c) < 0) fail("write");
      }
    }
  }
}

/* ---- storm ---- */
static conn_t **tc; static char **t_ids, **t_users, **t_passes;
static int t_clients, t_conc, t_keepalive, t_next, t_outstanding, t_connected, t_failed, t_reported;
static const char *t_prefix, *t_sessout;
static int t_tls;
static char t_first_error[160];
static double t_started, t_finished;
static hist_t t_hist;

static void t_report(const char *type) {
  printf("{\"type\":\"%s\",\"report\":{\"role\":\"storm\",\"connected\":%d,\"failed\":%d,\"firstError\":", type, t_connected, t_failed);
  if (t_first_error[0]) printf("\"%s\"", t_first_error); else printf("null");
  printf(",\"startedAtMicros\":%.0f,\"finishedAtMicros\":%.0f,", t_started, t_finished);
  if (t_tls) printf("\"resumed\":%d,", tls_resumed);
  hist_print("connectLatency", &t_hist);
  printf("}}\n");
  fflush(stdout);
}
static void t_launch(void) {
  while (t_outstanding < t_conc && t_next < t_clients) {
    int i = t_next++;
    if (t_users == NULL && asprintf(&t_ids[i], "%s-%d-%x", t_prefix, i, (unsigned)(prng_next() * 0xffffff)) < 0) fail("asprintf");
    tc[i] = open_conn();
    tc[i]->tag = i;
    t_outstanding++;
  }
  if (!t_reported && t_connected + t_failed == t_clients) { t_finished = now_micros(); t_reported = 1; t_report("connected"); }
}
static void t_fail(conn_t *c, const char *why) {
  if (c->st == ST_READY || c->st == ST_CLOSED) { close_conn(c); return; }
  if (!t_first_error[0]) snprintf(t_first_error, sizeof t_first_error, "%s", why);
  close_conn(c);
  t_failed++; t_outstanding--;
  t_launch();
}
static void t_visit(conn_t *c, int type, int flags, unsigned char *body, size_t len, double now) {
  (void)flags; (void)len;
  if (c->st != ST_CONNACK) return;
  if (type != PT_CONNACK || body[1] != 0) { t_fail(c, "CONNACK refused"); return; }
  c->st = ST_READY;
  hist_record(&t_hist, now - c->began);
  t_connected++; t_outstanding--;
  t_launch();
}
static void t_command(const char *line) {
  if (strcmp(line, "start") == 0) { t_started = now_micros(); t_launch(); }
  else if (strcmp(line, "stop") == 0) {
    for (int i = 0; i < t_next; i++) if (tc[i]->st == ST_READY) { buf_put(&tc[i]->out, DISCONNECT_PKT, 2); flush_out(tc[i]); shutdown(tc[i]->fd, SHUT_WR); close_conn(tc[i]); }
    if (t_tls && t_sessout[0]) tls_save_sessions(t_sessout);
    t_report("report");
    exit(0);
  }
}
/*
 * credentials=FILE: one `clientId<TAB>username<TAB>password` line per client, in order (written by
 * the harness, which signs the tokens); read whole before 'ready' so the storm only sends them.
 */
static void t_read_credentials(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) fail("credentials file");
  t_users = calloc((size_t)t_clients, sizeof *t_users); t_passes = calloc((size_t)t_clients, sizeof *t_passes);
  char *line = NULL; size_t cap = 0; int i = 0;
  while (i < t_clients && getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = 0;
    char *user = strchr(line, '\t'), *pass = user ? strchr(user + 1, '\t') : NULL;
    if (!pass) { errno = EINVAL; fail("credentials line is not id<TAB>username<TAB>password"); }
    *user++ = 0; *pass++ = 0;
    t_ids[i] = strdup(line); t_users[i] = strdup(user); t_passes[i] = strdup(pass);
    i++;
  }
  free(line); fclose(f);
  if (i < t_clients) { errno = EINVAL; fail("credentials file has fewer lines than clients"); }
}
__attribute__((noreturn)) static void run_storm(void) {
  setup(arg("host", NULL), arg("port", NULL));
  t_clients = (int)iarg("clients"); t_conc = (int)iarg("concurrency"); t_keepalive = (int)iarg("keepalive");
  t_prefix = arg("idprefix", NULL);
  prng_state = (uint32_t)iarg("seed");
  tc = calloc((size_t)t_clients, sizeof *tc); t_ids = calloc((size_t)t_clients, sizeof *t_ids);
  const char *credentials = arg("credentials", "");
  if (credentials[0]) t_read_credentials(credentials);
  t_tls = strcmp(arg("tls", "0"), "1") == 0;
  t_sessout = arg("sessout", "");
  if (t_tls) tls_setup(t_clients, arg("ca", NULL), arg("sessin", ""));
  reply("{\"type\":\"ready\"}");
  struct epoll_event evs[512];
  double last_scan = 0;
  for (;;) {
    int n = epoll_wait(epfd, evs, 512, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) { read_commands(t_command); continue; }
      if (c->st == ST_CLOSED) continue;
      if (c->st == ST_CONNECTING && t_tls) {
        if (tls_start(c) < 0) { t_fail(c, strerror(errno)); continue; }
      }
      if (c->st == ST_HANDSHAKE) {
        int done = tls_handshake(c);
        if (done < 0) { t_fail(c, t_tls_error); continue; }
        if (done == 0) continue;
        c->st = ST_CONNACK;
        put_connect(c, t_ids[c->tag], t_keepalive, t_users ? t_users[c->tag] : NULL, t_passes ? t_passes[c->tag] : NULL);
        if (flush_out(c) < 0) t_fail(c, "write failed");
        continue;
      }
      if (c->st == ST_CONNECTING) {
        if (on_connected(c, t_ids[c->tag], t_keepalive, t_users ? t_users[c->tag] : NULL, t_passes ? t_passes[c->tag] : NULL) < 0) t_fail(c, strerror(errno));
        continue;
      }
      if ((evs[i].events & EPOLLOUT) && flush_out(c) < 0) { t_fail(c, "write failed"); continue; }
      if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && read_packets(c, t_visit) < 0) t_fail(c, "connection closed before CONNACK");
    }
    double now = now_micros();
    if (now - last_scan < 100e3) continue;
    last_scan = now;
    for (int j = 0; j < t_next; j++) {
      conn_t *c = tc[j];
      if ((c->st == ST_CONNECTING || c->st == ST_HANDSHAKE || c->st == ST_CONNACK) && now - c->began > 30e6) t_fail(c, "no CONNACK within 30000 ms");
    }
  }
}
