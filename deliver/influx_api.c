/*
 * InfluxDB HTTP API helpers (see influx_api.h). Messages parsed here are the
 * ones InfluxDB 1.x and 2.x write (observed with 1.6.7: "partial write:
 * unable to parse '<line>': <why>\n... dropped=N" and "partial write: field
 * type conflict: input field "F" on measurement "M" is type T, already
 * exists as type U dropped=N").
 */
#include "influx_api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int
influx_api_detect(const char *version_header)
{
	if (version_header == NULL)
		return API_V2;
	while (*version_header == ' ' || *version_header == 'v')
		version_header++;
	return str_starts(version_header, "1.") ? API_V1 : API_V2;
}

int
influx_url_escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~';
		if (n + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (cap == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

static size_t
base_len(const char *url)
{
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	return n;
}

int
influx_write_url(char *out, size_t len, const struct cfg_writer *w, int api)
{
	char a[400], b[400];
	const char *prec = config_precision_name(w->precision, api);
	int n;
	if (api == API_V1) {
		if (influx_url_escape(a, sizeof(a), w->database) < 0 ||
		    influx_url_escape(b, sizeof(b), w->retention_policy) < 0)
			return -1;
		n = snprintf(out, len, "%.*s/write?db=%s%s%s&precision=%s", (int)base_len(w->url),
			     w->url, a, b[0] ? "&rp=" : "", b, prec);
	} else {
		if (influx_url_escape(a, sizeof(a), w->org) < 0 ||
		    influx_url_escape(b, sizeof(b), w->bucket) < 0)
			return -1;
		n = snprintf(out, len, "%.*s/api/v2/write?org=%s&bucket=%s&precision=%s",
			     (int)base_len(w->url), w->url, a, b, prec);
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
influx_ping_url(char *out, size_t len, const char *base)
{
	int n = snprintf(out, len, "%.*s/ping", (int)base_len(base), base);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void
base64(const char *in, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

int
influx_auth_header(char *out, size_t len, int api, const char *token)
{
	char b64[1500];
	int n;
	if (token == NULL || token[0] == '\0') {
		if (len > 0)
			out[0] = '\0';
		return 0;
	}
	if (api == API_V1 && strchr(token, ':') != NULL && strlen(token) < 1024) {
		base64(token, b64);
		n = snprintf(out, len, "Authorization: Basic %s", b64);
	} else {
		n = snprintf(out, len, "Authorization: Token %s", token);
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

enum influx_action
influx_classify(int status)
{
	if (status <= 0)
		return IA_NETWORK;
	if (status >= 200 && status < 300)
		return IA_OK;
	switch (status) {
	case 413:
		return IA_SPLIT;
	case 400:
	case 422:
		return IA_REJECT;
	case 401:
	case 403:
		return IA_AUTH;
	case 404:
		return IA_NOT_FOUND;
	default:
		return IA_RETRY; /* 429, 5xx, and anything unexpected: keep and retry */
	}
}

void
influx_session_writer(const struct cfg_writer *w, struct cfg_writer *s)
{
	*s = *w;
	if (w->session_rp[0] != '\0')
		snprintf(s->retention_policy, sizeof(s->retention_policy), "%s", w->session_rp);
	if (w->session_bucket[0] != '\0')
		snprintf(s->bucket, sizeof(s->bucket), "%s", w->session_bucket);
}

enum influx_action
influx_classify_text(int status, const char *msg)
{
	enum influx_action a = influx_classify(status);
	if (a == IA_RETRY && status == 500 && msg != NULL &&
	    strstr(msg, "retention policy not found") != NULL)
		return IA_NOT_FOUND;
	return a;
}

const char *
influx_action_name(enum influx_action a)
{
	static const char *const names[] = {"ok", "split", "reject", "retry", "auth", "not_found",
					    "network"};
	return (unsigned)a < ARRAY_LEN(names) ? names[a] : "?";
}

int
influx_retry_after(const char *hdr, time_t now)
{
	int64_t secs;
	struct tm tm;
	if (hdr == NULL)
		return -1;
	while (*hdr == ' ')
		hdr++;
	if (parse_i64(hdr, 0, INT64_MAX, &secs) == 0)
		return secs > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S : (int)secs;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(hdr, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	time_t at = timegm(&tm);
	if (at <= now)
		return 0;
	return at - now > RETRY_AFTER_CAP_S ? RETRY_AFTER_CAP_S : (int)(at - now);
}

/* Copy the JSON string starting after its opening quote, unescaped. */
static void
json_string_at(const char *p, const char *end, char *out, size_t cap)
{
	size_t n = 0;
	while (p < end && *p != '"' && n + 1 < cap) {
		char c = *p++;
		if (c == '\\' && p < end) {
			c = *p++;
			if (c == 'n' || c == 't' || c == 'r')
				c = c == 'n' ? '\n' : ' ';
			else if (c == 'u') {
				c = '?';
				p += (end - p >= 4) ? 4 : end - p;
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
}

void
influx_error_text(const char *body, size_t len, char *out, size_t cap)
{
	static const char *const keys[] = {"\"error\":\"", "\"error\": \"", "\"message\":\"",
					   "\"message\": \""};
	const char *end = body + len;
	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; body != NULL && i < ARRAY_LEN(keys); i++) {
		const char *p = memmem(body, len, keys[i], strlen(keys[i]));
		if (p != NULL) {
			json_string_at(p + strlen(keys[i]), end, out, cap);
			return;
		}
	}
	size_t n = body ? (len < cap - 1 ? len : cap - 1) : 0;
	memcpy(out, body ? body : "", n);
	out[n] = '\0';
	for (char *q = out; *q; q++)
		if ((unsigned char)*q < 0x20 && *q != '\n')
			*q = ' ';
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\n'))
		out[--n] = '\0';
}

/* ---- which lines were bad ---- */

/* Measurement of a line: up to the first unescaped comma or space. */
static size_t
measurement_len(const char *l, size_t len)
{
	size_t i = 0;
	for (; i < len && l[i] != ',' && l[i] != ' '; i++)
		if (l[i] == '\\')
			i++;
	return i > len ? len : i;
}

/* The type InfluxDB gives a field value: "float", "integer", "string",
 * "boolean", "unsigned". */
static const char *
value_type(const char *v, size_t n)
{
	if (n > 0 && v[0] == '"')
		return "string";
	if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0) ||
	    (n == 1 && (v[0] == 't' || v[0] == 'f' || v[0] == 'T' || v[0] == 'F')))
		return "boolean";
	if (n > 1 && v[n - 1] == 'i')
		return "integer";
	if (n > 1 && v[n - 1] == 'u')
		return "unsigned";
	return "float";
}

/* Does line l have field `field` with a value of type `type`? */
static bool
line_has_field_type(const char *l, size_t len, const char *field, const char *type)
{
	const char *sp = memchr(l, ' ', len); /* our tags never contain an unescaped space */
	while (sp != NULL && sp > l && sp[-1] == '\\')
		sp = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - l));
	if (sp == NULL)
		return false;
	const char *p = sp + 1, *end = l + len;
	size_t flen = strlen(field);
	while (p < end) {
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			return false;
		const char *v = eq + 1, *ve = v;
		bool q = false;
		while (ve < end && (q || (*ve != ',' && *ve != ' '))) {
			if (*ve == '"')
				q = !q;
			ve++;
		}
		if ((size_t)(eq - p) == flen && memcmp(p, field, flen) == 0)
			return strcmp(value_type(v, (size_t)(ve - v)), type) == 0;
		if (ve >= end || *ve == ' ')
			return false;
		p = ve + 1;
	}
	return false;
}

static int
mark_where(bool *bad, size_t n, const char *const *lines, const size_t *lens,
	   bool (*match)(const char *, size_t, const void *), const void *arg)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		if (!bad[i] && match(lines[i], lens[i], arg)) {
			bad[i] = true;
			k++;
		}
	return k;
}

struct exact {
	const char *s;
	size_t n;
};

static bool
match_exact(const char *l, size_t len, const void *arg)
{
	const struct exact *e = arg;
	return len == e->n && memcmp(l, e->s, len) == 0;
}

struct conflict {
	char m[128], f[128], t[16];
};

static bool
match_conflict(const char *l, size_t len, const void *arg)
{
	const struct conflict *c = arg;
	size_t ml = measurement_len(l, len);
	return ml == strlen(c->m) && memcmp(l, c->m, ml) == 0 &&
	       line_has_field_type(l, len, c->f, c->t);
}

/* "unable to parse '<line>': why" ... ; returns how many could not be matched */
static int
parse_errors(const char *msg, const char *const *lines, const size_t *lens, size_t n, bool *bad,
	     int *marked)
{
	static const char tag[] = "unable to parse '";
	int unmatched = 0;
	for (const char *p = strstr(msg, tag); p != NULL; p = strstr(p, tag)) {
		p += sizeof(tag) - 1;
		const char *next = strstr(p, tag), *q = NULL;
		/* the line ends at the last "': " before the next message */
		for (const char *s = strstr(p, "': "); s != NULL && (next == NULL || s < next);
		     s = strstr(s + 1, "': "))
			q = s;
		if (q == NULL)
			break;
		struct exact e = {p, (size_t)(q - p)};
		int k = mark_where(bad, n, lines, lens, match_exact, &e);
		*marked += k;
		unmatched += k == 0;
		p = q;
	}
	return unmatched;
}

static int
type_conflicts(const char *msg, const char *const *lines, const size_t *lens, size_t n, bool *bad)
{
	struct conflict c;
	const char *p = strstr(msg, "input field \"");
	if (p == NULL ||
	    sscanf(p, "input field \"%127[^\"]\" on measurement \"%127[^\"]\" is type %15[a-z]", c.f,
		   c.m, c.t) != 3)
		return 0;
	return mark_where(bad, n, lines, lens, match_conflict, &c);
}

/* v2: "line 3: ..." (1-based). */
static int
line_numbers(const char *msg, size_t n, bool *bad)
{
	int k = 0;
	for (const char *p = strstr(msg, "line "); p != NULL; p = strstr(p + 5, "line ")) {
		char *e;
		long no = strtol(p + 5, &e, 10);
		if (e != p + 5 && *e == ':' && no >= 1 && (size_t)no <= n && !bad[no - 1]) {
			bad[no - 1] = true;
			k++;
		}
	}
	return k;
}

void
influx_bad_lines(const char *msg, const char *const *lines, const size_t *lens, size_t n,
		 bool *bad, struct influx_verdict *v)
{
	int parsed = 0;
	memset(v, 0, sizeof(*v));
	memset(bad, 0, n * sizeof(*bad));
	v->partial = strstr(msg, "partial write") != NULL;
	const char *d = strstr(msg, "dropped=");
	v->dropped = d != NULL ? strtol(d + 8, NULL, 10) : -1;
	int unmatched = parse_errors(msg, lines, lens, n, bad, &parsed);
	int conflicts = type_conflicts(msg, lines, lens, n, bad);
	int numbered = line_numbers(msg, n, bad);
	v->identified = parsed + conflicts + numbered;
	if (v->partial && v->dropped == (long)n && v->identified == 0) {
		/* every line dropped (e.g. beyond the retention policy) */
		memset(bad, 1, n * sizeof(*bad));
		v->identified = (int)n;
		v->complete = true;
		return;
	}
	/* InfluxDB 1.x counts type conflicts and the like in dropped=, not parse errors */
	v->complete = v->partial && v->dropped >= 0 && unmatched == 0 && numbered == 0 &&
		      conflicts == v->dropped;
}

/* ---- backoff ---- */

void
backoff_init(struct backoff *b, int64_t min_ns, int64_t max_ns)
{
	b->min_ns = min_ns;
	b->max_ns = max_ns;
	b->attempt = 0;
}

int64_t
backoff_next(struct backoff *b, double u)
{
	int64_t cap = b->min_ns;
	for (int i = 0; i < b->attempt && cap < b->max_ns; i++)
		cap *= 2;
	if (cap > b->max_ns)
		cap = b->max_ns;
	if (b->attempt < 62)
		b->attempt++;
	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0.999999;
	return (int64_t)(u * (double)cap);
}

void
backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
