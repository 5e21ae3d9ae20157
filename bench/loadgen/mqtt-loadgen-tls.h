/*
 * TLS for the storm role of mqtt-loadgen (OpenSSL, non-blocking, in the same epoll loop): a
 * connection does its TCP connect, then the TLS handshake, then CONNECT → CONNACK on top, as a
 * device on 8883 does. The server's certificate is verified against `ca=FILE` (as devices do; the
 * host name is not checked: every target here is 127.0.0.1). No client certificate is sent.
 *
 * Sessions: every session the server hands out (a TLS 1.3 NewSessionTicket, or a TLS 1.2 ticket)
 * is kept per client; `sessout=FILE` writes them at stop (one line per client: the DER session in
 * hex, empty when none), and `sessin=FILE` presents them in a later storm of the same clients, so
 * that storm measures reconnecting devices that resume (`resumed` in the report counts the
 * handshakes the server accepted as resumptions).
 */
#include <openssl/err.h>
#include <openssl/ssl.h>

static SSL_CTX *tls_ctx;
static SSL_SESSION **tls_sessions;   /* per client (tag); what the server last handed out */
static SSL_SESSION **tls_offer;      /* per client: read from sessin=, presented at connect */
static int tls_count, tls_resumed;

static int tls_new_session(SSL *ssl, SSL_SESSION *session) {
  conn_t *c = SSL_get_app_data(ssl);
  if (c == NULL || c->tag < 0 || c->tag >= tls_count) return 0;
  if (tls_sessions[c->tag] != NULL) SSL_SESSION_free(tls_sessions[c->tag]);
  tls_sessions[c->tag] = session;
  return 1; /* we keep the reference */
}

static void tls_load_sessions(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) fail("sessin file");
  char *line = NULL; size_t cap = 0; int i = 0;
  while (i < tls_count && getline(&line, &cap, f) > 0) {
    size_t hex = strcspn(line, "\n");
    if (hex >= 2) {
      unsigned char *der = malloc(hex / 2);
      for (size_t k = 0; k < hex / 2; k++) { unsigned v; sscanf(line + 2 * k, "%2x", &v); der[k] = (unsigned char)v; }
      const unsigned char *p = der;
      tls_offer[i] = d2i_SSL_SESSION(NULL, &p, (long)(hex / 2));
      free(der);
    }
    i++;
  }
  free(line); fclose(f);
}

static void tls_save_sessions(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) fail("sessout file");
  for (int i = 0; i < tls_count; i++) {
    if (tls_sessions[i] != NULL) {
      int len = i2d_SSL_SESSION(tls_sessions[i], NULL);
      unsigned char *der = malloc((size_t)len), *p = der;
      i2d_SSL_SESSION(tls_sessions[i], &p);
      for (int k = 0; k < len; k++) fprintf(f, "%02x", der[k]);
      free(der);
    }
    fputc('\n', f);
  }
  if (fclose(f) != 0) fail("sessout write");
}

/* Once per process, before 'ready'. */
static void tls_setup(int clients, const char *ca, const char *sessin) {
  tls_ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_ctx) fail("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
  if (SSL_CTX_load_verify_locations(tls_ctx, ca, NULL) != 1) { errno = EINVAL; fail("ca= file"); }
  SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_mode(tls_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
  /* Tickets come to tls_new_session, not to OpenSSL's own client cache (which has none anyway). */
  SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(tls_ctx, tls_new_session);
  tls_count = clients;
  tls_sessions = calloc((size_t)clients, sizeof *tls_sessions);
  tls_offer = calloc((size_t)clients, sizeof *tls_offer);
  if (sessin != NULL && sessin[0]) tls_load_sessions(sessin);
}

/* The TCP connect has completed: starts the handshake. */
static int tls_start(conn_t *c) {
  int err = 0; socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) { errno = err; return -1; }
  SSL *ssl = SSL_new(tls_ctx);
  if (!ssl) fail("SSL_new");
  SSL_set_fd(ssl, c->fd);
  SSL_set_app_data(ssl, c);
  SSL_set_connect_state(ssl);
  if (c->tag < tls_count && tls_offer[c->tag] != NULL) SSL_set_session(ssl, tls_offer[c->tag]);
  c->ssl = ssl;
  c->st = ST_HANDSHAKE;
  return 0;
}

/* Drives the handshake; 1 once it is done, 0 while it waits for the socket, -1 on failure. */
static int tls_handshake(conn_t *c) {
  SSL *ssl = c->ssl;
  int r = SSL_do_handshake(ssl);
  if (r == 1) {
    if (SSL_session_reused(ssl)) tls_resumed++;
    if (c->want_out) arm(c, 0);
    return 1;
  }
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ) { if (c->want_out) arm(c, 0); return 0; }
  if (e == SSL_ERROR_WANT_WRITE) { if (!c->want_out) arm(c, 1); return 0; }
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  snprintf(t_tls_error, sizeof t_tls_error, "TLS handshake failed: %s", code ? ERR_reason_error_string(code) : "connection closed");
  return -1;
}

static ssize_t tls_write(conn_t *c, const void *p, size_t n) {
  int r = SSL_write(c->ssl, p, (int)n);
  if (r > 0) return r;
  int e = SSL_get_error(c->ssl, r);
  ERR_clear_error();
  if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) { errno = EAGAIN; return -1; }
  errno = EPIPE;
  return -1;
}

static ssize_t tls_read(conn_t *c, void *p, size_t n) {
  int r = SSL_read(c->ssl, p, (int)n);
  if (r > 0) return r;
  int e = SSL_get_error(c->ssl, r);
  ERR_clear_error();
  if (e == SSL_ERROR_WANT_READ) { errno = EAGAIN; return -1; }
  if (e == SSL_ERROR_WANT_WRITE) { if (!c->want_out) arm(c, 1); errno = EAGAIN; return -1; }
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  errno = ECONNRESET;
  return -1;
}

static void tls_free(conn_t *c) {
  if (c->ssl == NULL) return;
  SSL_free(c->ssl);
  c->ssl = NULL;
}
