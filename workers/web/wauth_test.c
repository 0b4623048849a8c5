/* Logins: password and session checks, bearer credentials, logout, expiry,
 * the failure limit per address (sessions pass it, other addresses are not
 * touched, the table is bounded), CSRF tokens, and the session file
 * (digests only). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "t.h"
#include "util.h"
#include "wauth.h"

#define NOW 1700000000

static const struct wauth_addr A1 = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 20}};

static struct wauth_addr
addr(const char *ip)
{
	struct sockaddr_in in4 = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	struct wauth_addr w = {{0}};
	if (inet_pton(AF_INET, ip, &in4.sin_addr) == 1)
		wauth_addr_of((struct sockaddr *)&in4, &w);
	else if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1)
		wauth_addr_of((struct sockaddr *)&in6, &w);
	else
		t_fail(__FILE__, __LINE__, "bad address %s", ip);
	return w;
}

static void
test_wauth_disabled_lets_everyone_in(void)
{
	struct wauth a;
	char tok[WAUTH_TOKEN_LEN + 1];
	wauth_init(&a, "", 86400, NULL, NOW);
	CHECK(!a.enabled);
	CHECK_INT(wauth_session(&a, NULL, NOW), ==, WAUTH_OK);
	CHECK_INT(wauth_bearer(&a, &A1, NULL, NOW), ==, WAUTH_OK);
	CHECK_INT(wauth_login(&a, &A1, "x", 1, NOW, tok), ==, WAUTH_ERROR);
}

static void
test_wauth_login_session_bearer_logout(void)
{
	struct wauth a;
	char tok[WAUTH_TOKEN_LEN + 1], tok2[WAUTH_TOKEN_LEN + 1];
	wauth_init(&a, "correct horse", 3600, NULL, NOW);
	CHECK_INT(wauth_login(&a, &A1, "correct hors", 12, NOW, tok), ==, WAUTH_DENIED);
	CHECK_INT(wauth_login(&a, &A1, "correct horse!", 14, NOW, tok), ==, WAUTH_DENIED);
	CHECK_INT(wauth_login(&a, &A1, "correct horse", 13, NOW, tok), ==, WAUTH_OK);
	CHECK_INT(strlen(tok), ==, WAUTH_TOKEN_LEN);
	CHECK_INT(strspn(tok, "0123456789abcdef"), ==, WAUTH_TOKEN_LEN);
	CHECK_INT(wauth_login(&a, &A1, "correct horse", 13, NOW, tok2), ==, WAUTH_OK);
	CHECK(strcmp(tok, tok2) != 0);
	CHECK_INT(wauth_session(&a, tok, NOW + 10), ==, WAUTH_OK);
	CHECK_INT(wauth_session(&a, tok, NOW + 3600), ==, WAUTH_DENIED); /* expired */
	CHECK_INT(wauth_session(&a, "short", NOW), ==, WAUTH_DENIED);
	CHECK_INT(wauth_session(&a, NULL, NOW), ==, WAUTH_DENIED);
	tok2[0] = tok2[0] == 'a' ? 'b' : 'a';
	CHECK_INT(wauth_session(&a, tok2, NOW), ==, WAUTH_DENIED);
	CHECK_INT(wauth_bearer(&a, &A1, "correct horse", NOW), ==, WAUTH_OK);
	CHECK_INT(wauth_bearer(&a, &A1, tok, NOW), ==, WAUTH_OK);
	CHECK_INT(wauth_bearer(&a, &A1, "wrong", NOW), ==, WAUTH_DENIED);
	wauth_logout(&a, tok);
	CHECK_INT(wauth_session(&a, tok, NOW), ==, WAUTH_DENIED);
	CHECK_INT(a.n, ==, 1);

	char c1[WAUTH_TOKEN_LEN + 1], c2[WAUTH_TOKEN_LEN + 1];
	wauth_csrf(tok, c1);
	wauth_csrf(tok, c2);
	CHECK_STR(c1, c2);
	CHECK(strcmp(c1, tok) != 0);
	wauth_csrf(tok2, c2);
	CHECK(strcmp(c1, c2) != 0);
}

static void
test_wauth_failure_limit(void)
{
	struct wauth a;
	char tok[WAUTH_TOKEN_LEN + 1];
	wauth_init(&a, "password1", 3600, NULL, NOW);
	for (int i = 0; i < WAUTH_FAIL_BURST; i++)
		CHECK_INT(wauth_login(&a, &A1, "guess", 5, NOW, tok), ==, WAUTH_DENIED);
	CHECK_INT(wauth_login(&a, &A1, "password1", 9, NOW + 1, tok), ==, WAUTH_LIMITED);
	CHECK_INT(wauth_bearer(&a, &A1, "password1", NOW + 1), ==, WAUTH_LIMITED);
	CHECK(wauth_retry_after(&a, &A1, NOW + 1) > 0);
	CHECK(wauth_retry_after(&a, &A1, NOW + 1) <= WAUTH_FAIL_WINDOW_S);
	CHECK_INT(wauth_login(&a, &A1, "password1", 9, NOW + WAUTH_FAIL_WINDOW_S, tok), ==,
		  WAUTH_OK);
	CHECK_INT(a.failures, ==, WAUTH_FAIL_BURST);
	CHECK_INT(a.limited, ==, 2);
}

/* Guesses from one address lock nobody else out, and never a session. */
static void
test_wauth_limit_is_per_address(void)
{
	struct wauth a;
	char tok[WAUTH_TOKEN_LEN + 1], t2[WAUTH_TOKEN_LEN + 1];
	struct wauth_addr evil = addr("203.0.113.9"), owner = addr("192.168.1.20");
	struct wauth_addr same64 = addr("2001:db8:1:2::99"), other64 = addr("2001:db8:1:3::1");
	struct wauth_addr evil6 = addr("2001:db8:1:2::1");
	CHECK(memcmp(&owner, &A1, sizeof(A1)) == 0); /* IPv4 as v4-mapped */
	struct wauth_addr mapped = addr("::ffff:192.168.1.20");
	CHECK(memcmp(&mapped, &A1, sizeof(A1)) == 0);
	wauth_init(&a, "password1", 3600, NULL, NOW);
	CHECK_INT(wauth_login(&a, &owner, "password1", 9, NOW, tok), ==, WAUTH_OK);
	for (int i = 0; i < 2 * WAUTH_FAIL_BURST; i++) {
		wauth_login(&a, &evil, "guess", 5, NOW + 1, t2);
		wauth_bearer(&a, &evil6, "guess", NOW + 1);
	}
	CHECK_INT(wauth_login(&a, &evil, "password1", 9, NOW + 2, t2), ==, WAUTH_LIMITED);
	CHECK_INT(wauth_bearer(&a, &evil, "password1", NOW + 2), ==, WAUTH_LIMITED);
	CHECK_INT(wauth_bearer(&a, &same64, "password1", NOW + 2), ==, WAUTH_LIMITED); /* its /64 */
	CHECK_INT(wauth_bearer(&a, &other64, "password1", NOW + 2), ==, WAUTH_OK);
	CHECK_INT(wauth_login(&a, &owner, "password1", 9, NOW + 2, t2), ==, WAUTH_OK);
	/* a session token passes even from the limited address */
	CHECK_INT(wauth_bearer(&a, &evil, tok, NOW + 2), ==, WAUTH_OK);
	CHECK_INT(wauth_session(&a, tok, NOW + 2), ==, WAUTH_OK);
	CHECK_INT(wauth_retry_after(&a, &owner, NOW + 2), ==, 0);
	CHECK(wauth_retry_after(&a, &evil, NOW + 2) > 0);

	/* a flood of addresses: the table stays bounded, the oldest make room */
	for (int i = 0; i < WAUTH_MAX_ADDRS + 10; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250);
		struct wauth_addr w = addr(ip);
		wauth_login(&a, &w, "guess", 5, NOW + 10 + i, t2);
	}
	CHECK_INT(a.addrs_evicted, ==, 12); /* 256 + 10 new and 2 old in 256 slots */
	CHECK_INT(wauth_login(&a, &owner, "password1", 9, NOW + 400, t2), ==, WAUTH_OK);
}

static void
test_wauth_sessions_survive_a_restart_as_digests(void)
{
	char path[512], tok[WAUTH_TOKEN_LEN + 1];
	struct wauth a, b;
	struct stat st;
	snprintf(path, sizeof(path), "%s/web-sessions", t_tmpdir());
	wauth_init(&a, "password1", 3600, path, NOW);
	CHECK_INT(wauth_login(&a, &A1, "password1", 9, NOW, tok), ==, WAUTH_OK);
	CHECK_INT(stat(path, &st), ==, 0);
	CHECK_INT(st.st_mode & 0777, ==, 0600);
	char *text = file_read_str(path, 65536, NULL);
	CHECK(text != NULL);
	CHECK(strstr(text, tok) == NULL);
	CHECK(strstr(text, "password1") == NULL);
	free(text);
	wauth_init(&b, "password1", 3600, path, NOW + 5);
	CHECK_INT(b.n, ==, 1);
	CHECK_INT(wauth_session(&b, tok, NOW + 5), ==, WAUTH_OK);
	/* expired sessions are not loaded */
	wauth_init(&b, "password1", 3600, path, NOW + 7200);
	CHECK_INT(b.n, ==, 0);
	/* a damaged file is counted and ignored */
	file_write_atomic(path, "garbage\n", 8, 0600);
	wauth_init(&b, "password1", 3600, path, NOW);
	CHECK_INT(b.n, ==, 0);
	CHECK_INT(b.load_errors, ==, 1);
}

static void
test_wauth_full_store_evicts_the_oldest(void)
{
	struct wauth a;
	char first[WAUTH_TOKEN_LEN + 1], tok[WAUTH_TOKEN_LEN + 1];
	wauth_init(&a, "password1", 3600, NULL, NOW);
	CHECK_INT(wauth_login(&a, &A1, "password1", 9, NOW, first), ==, WAUTH_OK);
	for (int i = 1; i <= WAUTH_MAX_SESSIONS; i++)
		CHECK_INT(wauth_login(&a, &A1, "password1", 9, NOW + i, tok), ==, WAUTH_OK);
	CHECK_INT(a.n, ==, WAUTH_MAX_SESSIONS);
	CHECK_INT(a.evicted, ==, 1);
	CHECK_INT(wauth_session(&a, first, NOW + 100), ==, WAUTH_DENIED);
	CHECK_INT(wauth_session(&a, tok, NOW + 100), ==, WAUTH_OK);
	uint8_t x[4] = {1, 2, 3, 4}, y[4] = {1, 2, 3, 5};
	CHECK(wauth_ct_equal(x, x, 4));
	CHECK(!wauth_ct_equal(x, y, 4));
}

T_MAIN(T(test_wauth_disabled_lets_everyone_in), T(test_wauth_login_session_bearer_logout),
       T(test_wauth_failure_limit), T(test_wauth_limit_is_per_address),
       T(test_wauth_sessions_survive_a_restart_as_digests),
       T(test_wauth_full_store_evicts_the_oldest))
