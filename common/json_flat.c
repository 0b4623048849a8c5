/*
 * The flat JSON object reader (see json_flat.h): a hand-written scanner of
 * RFC 8259's grammar, one member per call.
 */
#include "json_flat.h"

#include <string.h>

#define NEST_MAX 32

void
json_flat_init(struct jf_iter *it, const char *s, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->s = it->p = s;
	it->end = s + len;
}

static int
fail(struct jf_iter *it, const char *why)
{
	it->err = why;
	it->err_at = (size_t)(it->p - it->s);
	it->state = 2;
	return -1;
}

static void
ws(struct jf_iter *it)
{
	while (it->p < it->end && (*it->p == ' ' || *it->p == '\t' || *it->p == '\n' || *it->p == '\r'))
		it->p++;
}

static int
hex4(const char *p, const char *end)
{
	int v = 0;
	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A string at it->p (its '"'): *raw and *len are what is between the quotes. */
static int
string(struct jf_iter *it, const char **raw, size_t *len)
{
	if (it->p >= it->end || *it->p != '"')
		return fail(it, "a string was expected");
	const char *q = ++it->p;
	while (it->p < it->end && *it->p != '"') {
		unsigned char c = (unsigned char)*it->p;
		if (c < 0x20)
			return fail(it, "control character in a string");
		if (c == '\\') {
			it->p++;
			if (it->p >= it->end)
				break;
			if (*it->p == 'u') {
				if (hex4(it->p + 1, it->end) < 0)
					return fail(it, "bad \\u escape");
				it->p += 4;
			} else if (strchr("\"\\/bfnrt", *it->p) == NULL || *it->p == '\0') {
				return fail(it, "bad escape in a string");
			}
		}
		it->p++;
	}
	if (it->p >= it->end)
		return fail(it, "unterminated string");
	*raw = q;
	*len = (size_t)(it->p - q);
	it->p++;
	return 0;
}

static bool
digit(const struct jf_iter *it)
{
	return it->p < it->end && *it->p >= '0' && *it->p <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
number(struct jf_iter *it)
{
	if (it->p < it->end && *it->p == '-')
		it->p++;
	if (!digit(it))
		return fail(it, "bad number");
	if (*it->p == '0')
		it->p++;
	else
		while (digit(it))
			it->p++;
	if (it->p < it->end && *it->p == '.') {
		it->p++;
		if (!digit(it))
			return fail(it, "bad number");
		while (digit(it))
			it->p++;
	}
	if (it->p < it->end && (*it->p == 'e' || *it->p == 'E')) {
		it->p++;
		if (it->p < it->end && (*it->p == '+' || *it->p == '-'))
			it->p++;
		if (!digit(it))
			return fail(it, "bad number");
		while (digit(it))
			it->p++;
	}
	return 0;
}

static bool
word(struct jf_iter *it, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(it->end - it->p) < n || memcmp(it->p, w, n) != 0)
		return false;
	it->p += n;
	return true;
}

static int value(struct jf_iter *it, struct jf_member *m, int depth);

/* A member's key and its ':', with the blanks around it. */
static int
key(struct jf_iter *it, const char **k, size_t *kl)
{
	if (string(it, k, kl) < 0)
		return -1;
	ws(it);
	if (it->p >= it->end || *it->p != ':')
		return fail(it, "':' was expected");
	it->p++;
	ws(it);
	return 0;
}

/* An object or array at it->p, checked and skipped. */
static int
nested(struct jf_iter *it, int depth)
{
	char close = *it->p == '{' ? '}' : ']';
	struct jf_member m;
	const char *k;
	size_t kl;

	if (depth >= NEST_MAX)
		return fail(it, "nested too deep");
	it->p++;
	ws(it);
	if (it->p < it->end && *it->p == close) {
		it->p++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (key(it, &k, &kl) < 0)
				return -1;
		}
		if (value(it, &m, depth + 1) < 0)
			return -1;
		ws(it);
		if (it->p < it->end && *it->p == ',') {
			it->p++;
			ws(it);
			continue;
		}
		if (it->p < it->end && *it->p == close) {
			it->p++;
			return 0;
		}
		return fail(it, close == '}' ? "',' or '}' was expected" : "',' or ']' was expected");
	}
}

static int
value(struct jf_iter *it, struct jf_member *m, int depth)
{
	const char *start = it->p;

	if (it->p >= it->end)
		return fail(it, "a value was expected");
	switch (*it->p) {
	case '"':
		m->type = JF_STRING;
		return string(it, &m->val, &m->val_len);
	case '{':
	case '[':
		m->type = JF_NESTED;
		if (nested(it, depth) < 0)
			return -1;
		break;
	case 't':
	case 'f':
		m->type = JF_BOOL;
		m->b = *it->p == 't';
		if (!word(it, m->b ? "true" : "false"))
			return fail(it, "bad literal");
		break;
	case 'n':
		m->type = JF_NULL;
		if (!word(it, "null"))
			return fail(it, "bad literal");
		break;
	default:
		m->type = JF_NUMBER;
		if (number(it) < 0)
			return -1;
		break;
	}
	m->val = start;
	m->val_len = (size_t)(it->p - start);
	return 0;
}

/* After the closing '}': only white space may follow. */
static int
finish(struct jf_iter *it)
{
	it->p++;
	ws(it);
	if (it->p != it->end)
		return fail(it, "text after the object");
	it->state = 2;
	return 0;
}

int
json_flat_next(struct jf_iter *it, struct jf_member *m)
{
	if (it->state == 2)
		return it->err != NULL ? -1 : 0;
	ws(it);
	if (it->state == 0) {
		if (it->p >= it->end || *it->p != '{')
			return fail(it, "not a JSON object");
		it->p++;
		ws(it);
		if (it->p < it->end && *it->p == '}')
			return finish(it);
		it->state = 1;
	} else if (it->p < it->end && *it->p == '}') {
		return finish(it);
	} else if (it->p < it->end && *it->p == ',') {
		it->p++;
		ws(it);
	} else {
		return fail(it, "',' or '}' was expected");
	}
	memset(m, 0, sizeof(*m));
	if (key(it, &m->key, &m->key_len) < 0)
		return -1;
	if (value(it, m, 0) < 0)
		return -1;
	return 1;
}

static void
put_utf8(struct buf *out, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(out, u, n);
}

int
json_flat_unescape(const char *raw, size_t len, struct buf *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p = raw, *end = raw + len;

	while (p < end) {
		if (*p != '\\') {
			buf_putc(out, *p++);
			continue;
		}
		if (++p >= end)
			return -1;
		if (*p != 'u') {
			const char *f = memchr(from, *p, sizeof(from) - 1);
			if (f == NULL)
				return -1;
			buf_putc(out, to[f - from]);
			p++;
			continue;
		}
		int cp = hex4(p + 1, end);
		p += 5;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return -1;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			int lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2, end) : -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return -1;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		if (cp < 0)
			return -1;
		put_utf8(out, (unsigned)cp);
	}
	return out->oom ? -1 : 0;
}
