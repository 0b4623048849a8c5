/*
 * JSON writer. Strings are escaped per RFC 8259 and always valid UTF-8:
 * well-formed sequences pass through, any other byte (a lone 0xff echoed
 * from a request, half a character cut off by a truncation, an overlong
 * form, a surrogate) becomes U+FFFD.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>

void
json_init(struct json *j, struct buf *b)
{
	j->b = b;
	j->depth = 0;
	j->need_comma[0] = false;
	j->err = 0;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none. */
static int
utf8_len(const unsigned char *p)
{
	int n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (p[0] >= 0xf5 || n == 0)
		return 0;
	for (int i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, a surrogate, beyond U+10FFFF */
	return n;
}

void
json_escape(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80) {
			int n = utf8_len(p);
			if (n == 0) {
				buf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
				continue;
			}
			buf_append(b, p, (size_t)n);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_putc(b, (char)*p);
		}
	}
	buf_putc(b, '"');
}

static void
json_key(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		buf_putc(j->b, ',');
	j->need_comma[j->depth] = true;
	if (key != NULL) {
		json_escape(j->b, key);
		buf_putc(j->b, ':');
	}
}

static void
json_open(struct json *j, const char *key, char c)
{
	json_key(j, key);
	buf_putc(j->b, c);
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		j->err = 1;
		return;
	}
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void
json_close(struct json *j, char c)
{
	buf_putc(j->b, c);
	if (j->depth > 0)
		j->depth--;
	else
		j->err = 1;
}

void
json_obj_open(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void
json_obj_close(struct json *j)
{
	json_close(j, '}');
}

void
json_arr_open(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void
json_arr_close(struct json *j)
{
	json_close(j, ']');
}

void
json_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (s == NULL)
		buf_puts(j->b, "null");
	else
		json_escape(j->b, s);
}

void
json_int(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	buf_printf(j->b, "%lld", (long long)v);
}

void
json_uint(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	buf_printf(j->b, "%llu", (unsigned long long)v);
}

void
json_dbl(struct json *j, const char *key, double v)
{
	json_key(j, key);
	if (!isfinite(v))
		buf_puts(j->b, "null");
	else
		buf_printf(j->b, "%.15g", v);
}

void
json_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	buf_puts(j->b, v ? "true" : "false");
}

void
json_null(struct json *j, const char *key)
{
	json_key(j, key);
	buf_puts(j->b, "null");
}

void
json_raw(struct json *j, const char *key, const char *raw)
{
	json_key(j, key);
	buf_puts(j->b, raw);
}
