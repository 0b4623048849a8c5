/*
 * Sessions and credentials. Secrets are compared as SHA-256 digests with a
 * constant-time loop, so neither the content nor the length of a guess
 * leaks through timing. The session file holds digests only: reading it
 * does not give anyone a session.
 */
#include "wauth.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "util.h"

static void
wauth_sha256(const void *data, size_t len, uint8_t out[32])
{
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) != 0)
		fatalx("gnutls SHA-256 failed");
}

bool
wauth_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static void
hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void
save(struct wauth *a)
{
	struct buf b;
	char h[65];
	if (a->path[0] == '\0')
		return;
	buf_init(&b);
	buf_puts(&b, "leafmon-web-sessions 1\n");
	for (int i = 0; i < a->n; i++) {
		hex(a->s[i].hash, 32, h);
		buf_printf(&b, "%s %lld\n", h, (long long)a->s[i].expires);
	}
	if (b.oom || file_write_atomic(a->path, b.p, b.len, 0600) < 0)
		log_warn("web: cannot save sessions to %s", a->path);
	buf_free(&b);
}

static void
load(struct wauth *a, int64_t now)
{
	char *text = file_read_str(a->path, 64 * 1024, NULL);
	if (text == NULL)
		return;
	char *save_p = NULL;
	char *line = strtok_r(text, "\n", &save_p);
	if (line == NULL || strcmp(line, "leafmon-web-sessions 1") != 0) {
		a->load_errors++;
		free(text);
		return;
	}
	while ((line = strtok_r(NULL, "\n", &save_p)) != NULL && a->n < WAUTH_MAX_SESSIONS) {
		char h[65];
		long long exp;
		struct wauth_session *s = &a->s[a->n];
		if (sscanf(line, "%64s %lld", h, &exp) != 2 || strlen(h) != 64 ||
		    unhex(h, s->hash, 32) < 0) {
			a->load_errors++;
			continue;
		}
		s->expires = exp;
		if (exp > now)
			a->n++;
	}
	free(text);
}

int
wauth_init(struct wauth *a, const char *password, int64_t lifetime_s, const char *path,
	   int64_t now)
{
	memset(a, 0, sizeof(*a));
	a->lifetime_s = lifetime_s;
	if (password == NULL || password[0] == '\0')
		return 0;
	a->enabled = true;
	wauth_sha256(password, strlen(password), a->pw_hash);
	if (path != NULL && str_copy(a->path, path, sizeof(a->path)) == 0)
		load(a, now);
	return 0;
}

void
wauth_addr_of(const struct sockaddr *sa, struct wauth_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa != NULL && sa->sa_family == AF_INET) {
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const uint8_t *v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		memcpy(out->b, v6, memcmp(v6, mapped, 12) == 0 ? 16 : 8); /* a v4 or a /64 */
	}
}

/* who's entry, NULL when it has none */
static const struct wauth_fails *
entry(const struct wauth *a, const struct wauth_addr *who)
{
	for (int i = 0; i < WAUTH_MAX_ADDRS; i++)
		if (a->f[i].used && memcmp(&a->f[i].addr, who, sizeof(*who)) == 0)
			return &a->f[i];
	return NULL;
}

/* who's entry, made when missing in a free slot or the oldest one */
static struct wauth_fails *
entry_new(struct wauth *a, const struct wauth_addr *who)
{
	struct wauth_fails *e = (struct wauth_fails *)entry(a, who), *oldest = &a->f[0];
	if (e != NULL)
		return e;
	for (int i = 0; i < WAUTH_MAX_ADDRS && oldest->used; i++)
		if (!a->f[i].used || a->f[i].window_start < oldest->window_start)
			oldest = &a->f[i];
	a->addrs_evicted += oldest->used;
	*oldest = (struct wauth_fails){.addr = *who, .used = true};
	return oldest;
}

static bool
limited(const struct wauth *a, const struct wauth_addr *who, int64_t now)
{
	const struct wauth_fails *e = entry(a, who);
	return e != NULL && now - e->window_start < WAUTH_FAIL_WINDOW_S &&
	       e->fails >= WAUTH_FAIL_BURST;
}

int64_t
wauth_retry_after(const struct wauth *a, const struct wauth_addr *who, int64_t now)
{
	const struct wauth_fails *e = entry(a, who);
	if (!limited(a, who, now))
		return 0;
	int64_t left = e->window_start + WAUTH_FAIL_WINDOW_S - now;
	return left > 0 ? left : 1;
}

static enum wauth_result
failed(struct wauth *a, const struct wauth_addr *who, int64_t now)
{
	struct wauth_fails *e = entry_new(a, who);
	if (now - e->window_start >= WAUTH_FAIL_WINDOW_S) {
		e->window_start = now;
		e->fails = 0;
	}
	e->fails++;
	a->failures++;
	return WAUTH_DENIED;
}

static bool
password_ok(const struct wauth *a, const char *pw, size_t len)
{
	uint8_t h[32];
	wauth_sha256(pw, len, h);
	return wauth_ct_equal(h, a->pw_hash, 32);
}

static void
prune(struct wauth *a, int64_t now)
{
	int k = 0;
	for (int i = 0; i < a->n; i++)
		if (a->s[i].expires > now)
			a->s[k++] = a->s[i];
	a->n = k;
}

enum wauth_result
wauth_login(struct wauth *a, const struct wauth_addr *who, const char *pw, size_t len, int64_t now,
	    char token[WAUTH_TOKEN_LEN + 1])
{
	uint8_t raw[32];
	if (!a->enabled)
		return WAUTH_ERROR;
	if (limited(a, who, now)) {
		a->limited++;
		return WAUTH_LIMITED;
	}
	if (!password_ok(a, pw, len))
		return failed(a, who, now);
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return WAUTH_ERROR;
	hex(raw, sizeof(raw), token);
	prune(a, now);
	if (a->n == WAUTH_MAX_SESSIONS) { /* full: the one closest to expiry goes */
		int oldest = 0;
		for (int i = 1; i < a->n; i++)
			if (a->s[i].expires < a->s[oldest].expires)
				oldest = i;
		a->s[oldest] = a->s[--a->n];
		a->evicted++;
	}
	wauth_sha256(token, WAUTH_TOKEN_LEN, a->s[a->n].hash);
	a->s[a->n++].expires = now + a->lifetime_s;
	a->logins++;
	save(a);
	return WAUTH_OK;
}

/* the index of the live session with this token, or -1; every stored
 * digest is compared, whatever matched first */
static int
find(const struct wauth *a, const char *token, int64_t now)
{
	uint8_t h[32];
	int found = -1;
	if (token == NULL || strlen(token) != WAUTH_TOKEN_LEN)
		return -1;
	wauth_sha256(token, WAUTH_TOKEN_LEN, h);
	for (int i = 0; i < a->n; i++)
		if (wauth_ct_equal(h, a->s[i].hash, 32) && a->s[i].expires > now)
			found = i;
	return found;
}

enum wauth_result
wauth_session(struct wauth *a, const char *token, int64_t now)
{
	if (!a->enabled)
		return WAUTH_OK;
	return find(a, token, now) >= 0 ? WAUTH_OK : WAUTH_DENIED;
}

enum wauth_result
wauth_bearer(struct wauth *a, const struct wauth_addr *who, const char *cred, int64_t now)
{
	if (!a->enabled)
		return WAUTH_OK;
	if (cred == NULL)
		return WAUTH_DENIED;
	if (find(a, cred, now) >= 0)
		return WAUTH_OK;
	if (limited(a, who, now)) {
		a->limited++;
		return WAUTH_LIMITED;
	}
	return password_ok(a, cred, strlen(cred)) ? WAUTH_OK : failed(a, who, now);
}

void
wauth_logout(struct wauth *a, const char *token)
{
	int i = find(a, token, INT64_MIN);
	if (i < 0)
		return;
	a->s[i] = a->s[--a->n];
	save(a);
}

void
wauth_csrf(const char *token, char out[WAUTH_TOKEN_LEN + 1])
{
	uint8_t h[32];
	char in[16 + WAUTH_TOKEN_LEN + 1];
	int n = snprintf(in, sizeof(in), "leafmon-csrf:%s", token ? token : "");
	wauth_sha256(in, (size_t)n, h);
	hex(h, 32, out);
}
