/*
 * fuzz_http_query: the web worker's query-parameter parser (wparam), as a
 * client can drive it: times, signal lists, history/export ranges, worker
 * names and urlencoded form bodies. Input: newline-separated fields
 * from, to, step, points, signals, worker, then the rest as a form body.
 * Every rejection must leave a message for the 400 answer, and that
 * message, as the JSON error body carries it, is valid UTF-8 whatever bytes
 * the client sent (values echoed are cut on character boundaries, invalid
 * bytes replaced).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "wparam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

#define NFIELDS 6

/* strict UTF-8 (RFC 3629): no overlong forms, surrogates or > U+10FFFF */
static int
valid_utf8(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t k = c < 0x80		   ? 1
			   : c >= 0xc2 && c < 0xe0 ? 2
			   : c >= 0xe0 && c < 0xf0 ? 3
			   : c >= 0xf0 && c < 0xf5 ? 4
						   : 0;
		if (k == 0 || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if ((p[i + j] & 0xc0) != 0x80)
				return 0;
		if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0) ||
		    (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90))
			return 0;
		i += k;
	}
	return 1;
}

static void
need_msg(int rc, const struct wparam_err *e)
{
	if (rc < 0 && (e->msg[0] == '\0' || memchr(e->msg, '\0', sizeof(e->msg)) == NULL))
		abort();
	if (rc < 0) {
		struct buf b;
		buf_init(&b);
		json_escape(&b, e->msg);
		if (!b.oom && !valid_utf8((const unsigned char *)b.p, b.len))
			abort();
		buf_free(&b);
	}
}

static void
check_range(const struct wrange *r, size_t max_rows)
{
	if (r->step_ms <= 0 || r->nrows > max_rows || r->from_ms > r->to_ms || r->t0_ms > r->from_ms)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *f[NFIELDS + 1] = {0};
	char *text = malloc(len + 1);
	const struct sig_info *sigs[WPARAM_MAX_SIGNALS];
	struct wparam_err e = {{0}};
	struct wrange r;
	int64_t ms;
	int n;
	char out[256];

	if (text == NULL)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	char *p = text;
	for (int i = 0; i < NFIELDS + 1 && p != NULL; i++) {
		f[i] = p;
		p = i < NFIELDS ? strchr(p, '\n') : NULL;
		if (p != NULL)
			*p++ = '\0';
	}
	for (int i = 0; i < 2; i++)
		if (f[i] != NULL)
			need_msg(wparam_time(f[i], &ms, &e), &e);
	if (f[4] != NULL)
		need_msg(wparam_signals(f[4], sigs, WPARAM_MAX_SIGNALS, &n, &e), &e);
	int rc = wparam_range(f[0], f[1], f[2], f[3], 1700000000000LL, WPARAM_HISTORY_POINTS, &r, &e);
	need_msg(rc, &e);
	if (rc == 0)
		check_range(&r, WPARAM_HISTORY_POINTS);
	rc = wparam_range(f[0], f[1], f[2], NULL, 1700000000000LL, WPARAM_EXPORT_POINTS, &r, &e);
	if (rc == 0)
		check_range(&r, WPARAM_EXPORT_POINTS);
	if (f[5] != NULL)
		need_msg(wparam_worker(f[5], &e), &e);
	if (f[6] != NULL) {
		size_t bl = len - (size_t)(f[6] - text);
		(void)wparam_form_value(f[6], bl, "password", out, sizeof(out));
		(void)wparam_form_value(f[6], bl, "csrf", out, sizeof(out));
	}
	free(text);
	return 0;
}
