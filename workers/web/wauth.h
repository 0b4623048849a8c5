/*
 * Web login: the password (from password_file), sessions (random 256-bit
 * tokens handed out once in a cookie; only their SHA-256 is kept, in memory
 * and in STATEDIR/web-sessions so that a worker restart does not log the
 * owner out), bearer credentials, CSRF tokens derived from the session, and
 * a limit on failed attempts per client address (a bounded table), so that
 * nobody locks the owner out from elsewhere. A session token (cookie or
 * bearer: 256 random bits, not guessable) is always checked; a password from
 * a limited address is refused unchecked, or the limit would be an oracle.
 * Comparisons of secrets are constant-time. Nothing here logs or returns a
 * secret.
 */
#ifndef LEAFMON_WAUTH_H
#define LEAFMON_WAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAUTH_MAX_SESSIONS 64
#define WAUTH_TOKEN_LEN 64 /* hex characters of a session token */
#define WAUTH_FAIL_BURST 10 /* failed attempts allowed per window and address */
#define WAUTH_FAIL_WINDOW_S 60
#define WAUTH_MAX_ADDRS 256 /* addresses with failures tracked; the oldest makes room */

struct sockaddr;

/* Who is asking: an IPv4 address (as v4-mapped IPv6) or an IPv6 /64, which
 * one host usually holds whole. */
struct wauth_addr {
	uint8_t b[16];
};

struct wauth_fails {
	struct wauth_addr addr;
	int64_t window_start;
	int fails;
	bool used;
};

struct wauth_session {
	uint8_t hash[32];
	int64_t expires; /* Unix seconds */
};

struct wauth {
	bool enabled; /* a password is configured */
	uint8_t pw_hash[32];
	int64_t lifetime_s;
	char path[512]; /* persistence, "" for none */
	struct wauth_session s[WAUTH_MAX_SESSIONS];
	int n;
	struct wauth_fails f[WAUTH_MAX_ADDRS];
	uint64_t logins, failures, limited, evicted, load_errors, addrs_evicted;
};

enum wauth_result { WAUTH_OK = 0, WAUTH_DENIED = -1, WAUTH_LIMITED = -2, WAUTH_ERROR = -3 };

/* password NULL or "": no login required. path: the session file. */
int wauth_init(struct wauth *a, const char *password, int64_t lifetime_s, const char *path,
	       int64_t now);
/* The key of a client address (AF_INET or AF_INET6; anything else is all zeros). */
void wauth_addr_of(const struct sockaddr *sa, struct wauth_addr *out);
/* Check a password from `who`; on success a new session token (NUL-terminated hex). */
enum wauth_result wauth_login(struct wauth *a, const struct wauth_addr *who, const char *pw,
			      size_t len, int64_t now, char token[WAUTH_TOKEN_LEN + 1]);
/* A session cookie's token. */
enum wauth_result wauth_session(struct wauth *a, const char *token, int64_t now);
/* An Authorization: Bearer credential from `who`: a session token (checked
 * even while `who` is limited) or the password. */
enum wauth_result wauth_bearer(struct wauth *a, const struct wauth_addr *who, const char *cred,
			       int64_t now);
void wauth_logout(struct wauth *a, const char *token);
/* The CSRF token a page must echo in X-CSRF-Token for its session. */
void wauth_csrf(const char *token, char out[WAUTH_TOKEN_LEN + 1]);
bool wauth_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
/* Seconds until `who` may try a password again (0: now). */
int64_t wauth_retry_after(const struct wauth *a, const struct wauth_addr *who, int64_t now);

#endif
