/*
 * Request-head checks: a request line (METHOD SP target SP HTTP/1.x), then
 * header lines up to the blank line. Only Content-Length is judged, as RFC
 * 9110 defines it (1*DIGIT, surrounding blanks allowed); Transfer-Encoding
 * takes precedence, as in MHD.
 */
#include "whead.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define CL_NONE (~0ULL)
#define CL_HUGE (~0ULL - 1) /* more digits than fit */

static bool
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* "GET /x HTTP/1.1" (len bytes, without the CRLF) */
static bool
request_line(const char *p, size_t len)
{
	size_t i = 0;
	while (i < len && is_tchar(p[i]))
		i++;
	if (i == 0 || i >= len || p[i] != ' ')
		return false;
	const char *sp = memchr(p + i + 1, ' ', len - i - 1);
	if (sp == NULL || sp == p + i + 1)
		return false;
	size_t rest = len - (size_t)(sp + 1 - p);
	return rest == 8 && memcmp(sp + 1, "HTTP/1.", 7) == 0 && (sp[8] == '0' || sp[8] == '1');
}

/* the value of one Content-Length line: its number, CL_HUGE, or -1 */
static int
cl_value(const char *v, size_t len, unsigned long long *out)
{
	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0)
		return -1;
	unsigned long long x = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		unsigned d = (unsigned)(v[i] - '0');
		x = x > (CL_HUGE - 1 - d) / 10 ? CL_HUGE : x * 10 + d;
	}
	*out = x;
	return 0;
}

struct scan {
	unsigned long long cl;
	bool chunked, bad, folded_cl;
};

/* one header line; false when the head cannot be judged here */
static bool
header(struct scan *s, const char *p, size_t len, bool *last_cl)
{
	if (p[0] == ' ' || p[0] == '\t') { /* obs-fold: continues the previous line */
		s->folded_cl |= *last_cl;
		return true;
	}
	const char *colon = memchr(p, ':', len);
	if (colon == NULL || colon == p)
		return false;
	size_t nlen = (size_t)(colon - p);
	*last_cl = nlen == 14 && strncasecmp(p, "content-length", 14) == 0;
	if (nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0)
		s->chunked = true;
	if (!*last_cl)
		return true;
	unsigned long long v;
	if (cl_value(colon + 1, len - nlen - 1, &v) < 0 || (s->cl != CL_NONE && s->cl != v))
		s->bad = true;
	else
		s->cl = v;
	return true;
}

enum whead_verdict
whead_check(const char *p, size_t n, unsigned long long body_max)
{
	struct scan s = {.cl = CL_NONE};
	bool last_cl = false;
	const char *end = n >= 4 ? memmem(p, n, "\r\n\r\n", 4) : NULL;
	if (end == NULL)
		return WHEAD_MORE;
	const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
	if (!request_line(p, (size_t)(eol - p)))
		return WHEAD_UNSURE;
	for (const char *line = eol + 2; line < end + 2; line = eol + 2) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (memchr(line, '\0', (size_t)(eol - line)) != NULL ||
		    !header(&s, line, (size_t)(eol - line), &last_cl))
			return WHEAD_UNSURE;
	}
	if (s.chunked) /* MHD reads no Content-Length then */
		return WHEAD_OK;
	if (s.bad || s.folded_cl)
		return WHEAD_BAD;
	return s.cl != CL_NONE && s.cl > body_max ? WHEAD_TOO_LARGE : WHEAD_OK;
}
