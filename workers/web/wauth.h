/*
 * Web login: the password (from password_file), sessions (random 256-bit
 * tokens handed out once in a cookie; only their SHA-256 is kept, in memory
 * and in STATEDIR/web-sessions so that a worker restart does not log the
 * owner out), bearer credentials, CSRF tokens derived from the session, and
 * a limit on failed attempts. Comparisons of secrets are constant-time.
 * Nothing here logs or returns a secret.
 */
#ifndef LEAFMON_WAUTH_H
#define LEAFMON_WAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAUTH_MAX_SESSIONS 64
#define WAUTH_TOKEN_LEN 64 /* hex characters of a session token */
#define WAUTH_FAIL_BURST 10 /* failed attempts allowed per window */
#define WAUTH_FAIL_WINDOW_S 60

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
	int64_t window_start;
	int fails;
	uint64_t logins, failures, limited, evicted, load_errors;
};

enum wauth_result { WAUTH_OK = 0, WAUTH_DENIED = -1, WAUTH_LIMITED = -2, WAUTH_ERROR = -3 };

/* password NULL or "": no login required. path: the session file. */
int wauth_init(struct wauth *a, const char *password, int64_t lifetime_s, const char *path,
	       int64_t now);
/* Check a password; on success a new session token (NUL-terminated hex). */
enum wauth_result wauth_login(struct wauth *a, const char *pw, size_t len, int64_t now,
			      char token[WAUTH_TOKEN_LEN + 1]);
/* A session cookie's token. */
enum wauth_result wauth_session(struct wauth *a, const char *token, int64_t now);
/* An Authorization: Bearer credential: the password or a session token. */
enum wauth_result wauth_bearer(struct wauth *a, const char *cred, int64_t now);
void wauth_logout(struct wauth *a, const char *token);
/* The CSRF token a page must echo in X-CSRF-Token for its session. */
void wauth_csrf(const char *token, char out[WAUTH_TOKEN_LEN + 1]);
bool wauth_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);
void wauth_sha256(const void *data, size_t len, uint8_t out[32]);
/* Seconds until failed attempts are allowed again (0: now). */
int64_t wauth_retry_after(const struct wauth *a, int64_t now);

#endif
