/*
 * JSON pull tokenizer. State is the nesting stack plus, per level, how many
 * members were seen, which is all it takes to demand commas and colons in
 * the right places and nowhere else.
 */
#include "jscan.h"

#include <stdlib.h>
#include <string.h>

static enum jtok
err(struct jscan *j, const char *why)
{
	if (j->err == NULL)
		j->err = why;
	j->p = j->end;
	return JT_ERR;
}

void
jscan_init(struct jscan *j, const char *buf, size_t len)
{
	memset(j, 0, sizeof(*j));
	j->p = buf;
	j->end = buf + len;
}

static void
skip_ws(struct jscan *j)
{
	while (j->p < j->end &&
	       (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
hex4(const char *p)
{
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* at the opening quote: find the closing one, validating escapes */
static int
scan_string(struct jscan *j)
{
	const char *p = j->p + 1;
	while (p < j->end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			j->s = j->p + 1;
			j->slen = (size_t)(p - j->s);
			j->p = p + 1;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (p + 1 >= j->end)
				return -1;
			char e = p[1];
			if (e == 'u') {
				if (j->end - p < 6 || !hex4(p + 2))
					return -1;
				p += 6;
				continue;
			}
			if (strchr("\"\\/bfnrt", e) == NULL || e == '\0')
				return -1;
			p += 2;
			continue;
		}
		p++;
	}
	return -1;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
scan_number(struct jscan *j)
{
	const char *p = j->p, *start = p;
	char tmp[64];
	if (p < j->end && *p == '-')
		p++;
	if (p >= j->end || !is_digit(*p))
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < j->end && is_digit(*p))
			p++;
	if (p < j->end && *p == '.') {
		if (++p >= j->end || !is_digit(*p))
			return -1;
		while (p < j->end && is_digit(*p))
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		if (++p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || !is_digit(*p))
			return -1;
		while (p < j->end && is_digit(*p))
			p++;
	}
	size_t n = (size_t)(p - start);
	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, start, n);
	tmp[n] = '\0';
	j->num = strtod(tmp, NULL);
	j->p = p;
	return 0;
}

static enum jtok
literal(struct jscan *j, const char *lit, enum jtok t)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return err(j, "bad literal");
	j->p += n;
	return t;
}

static enum jtok
push(struct jscan *j, char kind, enum jtok t)
{
	if (j->depth >= JSCAN_MAX_DEPTH)
		return err(j, "nested too deep");
	j->kind[j->depth] = kind;
	j->count[j->depth] = 0;
	j->depth++;
	j->p++;
	return t;
}

static enum jtok
value(struct jscan *j)
{
	if (j->p >= j->end)
		return err(j, "truncated");
	if (j->depth > 0)
		j->count[j->depth - 1]++;
	else
		j->done = true; /* the root is being read */
	switch (*j->p) {
	case '{':
		return push(j, '{', JT_OBJ);
	case '[':
		return push(j, '[', JT_ARR);
	case '"':
		return scan_string(j) == 0 ? JT_STR : err(j, "bad string");
	case 't':
		return literal(j, "true", JT_TRUE);
	case 'f':
		return literal(j, "false", JT_FALSE);
	case 'n':
		return literal(j, "null", JT_NULL);
	default:
		return scan_number(j) == 0 ? JT_NUM : err(j, "bad value");
	}
}

/* a closing bracket, or a comma when members came before */
static int
member_start(struct jscan *j, char close, enum jtok *closed)
{
	if (*j->p == close) {
		j->p++;
		j->depth--;
		*closed = close == '}' ? JT_OBJ_END : JT_ARR_END;
		return 1;
	}
	if (j->count[j->depth - 1] > 0) {
		if (*j->p != ',')
			return -1;
		j->p++;
		skip_ws(j);
		if (j->p >= j->end)
			return -1;
	}
	return 0;
}

static enum jtok
in_object(struct jscan *j)
{
	enum jtok closed;
	if (j->after_key) {
		j->after_key = false;
		j->count[j->depth - 1]--; /* value() counts; the key already did */
		return value(j);
	}
	int rc = member_start(j, '}', &closed);
	if (rc != 0)
		return rc > 0 ? closed : err(j, "expected , or }");
	if (*j->p != '"' || scan_string(j) < 0)
		return err(j, "expected a key");
	skip_ws(j);
	if (j->p >= j->end || *j->p != ':')
		return err(j, "expected :");
	j->p++;
	j->after_key = true;
	j->count[j->depth - 1]++;
	return JT_KEY;
}

enum jtok
jscan_next(struct jscan *j)
{
	enum jtok closed;
	if (j->err != NULL)
		return JT_ERR;
	skip_ws(j);
	if (j->depth == 0) {
		if (j->done)
			return j->p == j->end ? JT_END : err(j, "trailing bytes");
		return value(j);
	}
	if (j->p >= j->end)
		return err(j, "truncated");
	if (j->kind[j->depth - 1] == '{')
		return in_object(j);
	int rc = member_start(j, ']', &closed);
	if (rc != 0)
		return rc > 0 ? closed : err(j, "expected , or ]");
	return value(j);
}

int
jscan_skip(struct jscan *j, enum jtok t)
{
	if (t != JT_OBJ && t != JT_ARR)
		return t == JT_ERR ? -1 : 0;
	int target = j->depth - 1;
	while (j->depth > target) {
		if (jscan_next(j) == JT_ERR)
			return -1;
	}
	return 0;
}

static int
hexnum(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static char
unescape_one(const char *p, size_t *adv)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (p[1] == 'u') {
		int v = hexnum(p + 2);
		*adv = 6;
		return v > 0 && v < 0x80 ? (char)v : '?';
	}
	*adv = 2;
	return to[strchr(from, p[1]) - from];
}

int
jscan_str(const struct jscan *j, char *out, size_t cap)
{
	size_t o = 0, adv;
	for (size_t i = 0; i < j->slen;) {
		char c = j->s[i];
		adv = 1;
		if (c == '\\')
			c = unescape_one(j->s + i, &adv);
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
		i += adv;
	}
	if (cap == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

bool
jscan_is(const struct jscan *j, const char *lit)
{
	return strlen(lit) == j->slen && memcmp(j->s, lit, j->slen) == 0;
}
