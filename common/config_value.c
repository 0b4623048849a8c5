/*
 * One config value: parsed and checked by its type (every string must be
 * printable UTF-8; paths absolute; URLs http(s) with a sane host and port;
 * addresses IPv4 or IPv6 literals, as the web worker binds them), and
 * printed back for --check-config. Pure: no I/O.
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "tariff.h"

static const char *const api_names[] = {"auto", "v1", "v2"};
static const char *const prec_names[] = {"ns", "us", "ms", "s"};
static const char *const gen_names[] = {"ZE0", "AZE0", "ZE1"};

const char *
config_precision_name(int prec, int api)
{
	if (prec == PREC_US && api == API_V1)
		return "u"; /* InfluxDB 1.x spells microseconds "u" */
	return (prec >= 0 && prec < (int)ARRAY_LEN(prec_names)) ? prec_names[prec] : "ms";
}

bool
config_key_is_string(enum ktype t)
{
	return t == K_STR || t == K_PATH || t == K_URL || t == K_SOURCE || t == K_ADDR ||
	       t == K_NAMES || t == K_TOU || t == K_MQTT_URL || t == K_TOPIC || t == K_GPS ||
	       t == K_FIELDS;
}

int
config_pick(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return -1;
}

/* Copy n bytes of s into out (cap) as a string; false when they do not fit. */
static bool
take(char *out, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

static bool
ip6_literal(const char *s)
{
	return inet_pton(AF_INET6, s, &(struct in6_addr){0}) == 1;
}

static bool
ip_literal(const char *s)
{
	return inet_pton(AF_INET, s, &(struct in_addr){0}) == 1 || ip6_literal(s);
}

/* What is wrong with the host[:port] of a URL (after its "scheme://": a
 * name, an IPv4 or an [IPv6] literal), or NULL. */
static const char *
url_authority_problem(const char *v)
{
	const char *h = strstr(v, "://") + 3;
	size_t n = strcspn(h, "/?#"), hl;
	char host[256], port[8];
	int64_t pv;

	if (memchr(h, '@', n) != NULL)
		return "has credentials in it (the token goes in token_file)";
	if (h[0] == '[') {
		const char *end = memchr(h, ']', n);
		hl = end != NULL ? (size_t)(end - h) + 1 : 0;
		if (hl == 0 || !take(host, sizeof(host), h + 1, hl - 2) || !ip6_literal(host))
			return "has a bad [IPv6] address";
	} else {
		hl = strcspn(h, ":/?#");
		if (hl == 0)
			return "has no host";
		for (size_t i = 0; i < hl; i++)
			if (!isalnum((unsigned char)h[i]) && strchr(".-_", h[i]) == NULL)
				return "has a bad host name";
	}
	if (hl == n)
		return NULL;
	if (h[hl] != ':' || !take(port, sizeof(port), h + hl + 1, n - hl - 1) ||
	    parse_i64(port, 1, 65535, &pv) < 0)
		return "has a bad port (1 to 65535)";
	return NULL;
}

/* An MQTT URL: the scheme, host and port only (the broker has no path). */
static const char *
mqtt_url_problem(const char *v)
{
	if (!str_starts(v, "mqtt://") && !str_starts(v, "mqtts://"))
		return "is not an mqtt:// or mqtts:// URL";
	if (strpbrk(v, " \t\"'<>\\") != NULL)
		return "contains characters not allowed in a URL";
	const char *h = strstr(v, "://") + 3;
	if (h[strcspn(h, "/?#")] != '\0' && strcspn(h, "/?#") + 1 < strlen(h))
		return "has a path (an MQTT URL is mqtt[s]://host[:port])";
	return url_authority_problem(v);
}

/* A topic prefix: levels joined by '/', none empty, no wildcard, no blank
 * (so a prefix can never subscribe to or inject into other topics). */
static const char *
topic_problem(const char *v)
{
	if (strpbrk(v, "+# ") != NULL)
		return "holds '+', '#' or a space (topic levels are names, not wildcards)";
	if (v[0] == '$')
		return "starts with '$' (the broker's own topics)";
	if (v[0] == '/' || (v[0] != '\0' && v[strlen(v) - 1] == '/') || strstr(v, "//") != NULL)
		return "has an empty topic level (a '/' at an end or '//')";
	return NULL;
}

/* A list of DNS names separated by commas or blanks: letters, digits, '-'
 * and '.', labels of 1..63; false at the first that is not. */
static bool
names_ok(const char *v)
{
	for (const char *p = v + strspn(v, ", \t"); *p; p += strspn(p, ", \t")) {
		size_t n = strcspn(p, ", \t"), label = 0;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				  (c >= '0' && c <= '9') || c == '-' || c == '.';
			label = c == '.' ? 0 : label + 1;
			if (!ok || label > 63 || (c == '.' && (i == 0 || p[i - 1] == '.')))
				return false;
		}
		p += n;
	}
	return true;
}

int
config_gps_parse(const char *v, char *host, size_t hostlen, char *port, size_t portlen, char *why,
		 size_t whylen)
{
	const char *h = v + 5, *colon;
	char hb[64];
	int64_t pv;

	host[0] = port[0] = '\0';
	if (v[0] == '\0')
		return 0;
	if (!str_starts(v, "gpsd:")) {
		snprintf(why, whylen, "is not gpsd:HOST:PORT (e.g. gpsd:127.0.0.1:2947), or empty");
		return -1;
	}
	colon = strrchr(h, ':');
	if (colon == NULL || parse_i64(colon + 1, 1, 65535, &pv) < 0) {
		snprintf(why, whylen, "has no port of 1 to 65535 (gpsd:HOST:PORT)");
		return -1;
	}
	size_t n = (size_t)(colon - h);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { /* [IPv6] */
		h++;
		n -= 2;
	}
	if (!take(hb, sizeof(hb), h, n) || (!ip_literal(hb) && strcmp(hb, "localhost") != 0)) {
		snprintf(why, whylen,
			 "has a host that is not an IP address or localhost (the can worker "
			 "never waits on a name lookup)");
		return -1;
	}
	if (strlen(hb) >= hostlen || strlen(colon + 1) >= portlen) {
		snprintf(why, whylen, "is too long");
		return -1;
	}
	strcpy(host, strcmp(hb, "localhost") == 0 ? "127.0.0.1" : hb);
	strcpy(port, colon + 1);
	return 0;
}

const char *const config_abrp_fields[] = {
    "utc",	  "soc",	 "power",
    "speed",	  "is_charging", "is_dcfc",
    "is_parked",  "lat",	 "lon",
    "elevation",  "heading",	 "capacity",
    "soe",	  "soh",	 "ext_temp",
    "batt_temp",  "cabin_temp",	 "voltage",
    "current",	  "odometer",	 "est_battery_range",
    "hvac_power",
};
const size_t config_abrp_nfields = ARRAY_LEN(config_abrp_fields);

/* Whether name (len bytes) is one of them. */
static bool
config_abrp_field_known(const char *name, size_t len)
{
	for (size_t i = 0; i < config_abrp_nfields; i++)
		if (strlen(config_abrp_fields[i]) == len &&
		    memcmp(config_abrp_fields[i], name, len) == 0)
			return true;
	return false;
}

/* The first name in a list of ABRP fields that is not one, or NULL. */
static const char *
fields_problem(const char *v, char *why, size_t len)
{
	for (const char *p = v + strspn(v, ", \t"); *p; p += strspn(p, ", \t")) {
		size_t n = strcspn(p, ", \t");
		if (!config_abrp_field_known(p, n)) {
			snprintf(why, len, "'%.*s' is not an ABRP telemetry field (%s, ...)",
				 (int)(n > 40 ? 40 : n), p, "soc, power, speed, is_charging");
			return why;
		}
		p += n;
	}
	return NULL;
}

/* What is wrong with v as k's string-like type, or NULL; why2 holds a
 * source list's own reason. */
static const char *
string_problem(const struct key *k, const char *v, char *why2, size_t len)
{
	struct src_spec tmp[SRC_MAX];
	struct tariff tt;
	int n;

	if (!str_is_text(v, strlen(v)))
		return "holds a control character or is not valid UTF-8";
	switch (k->type) {
	case K_PATH:
		return v[0] != '\0' && v[0] != '/' ? "is not an absolute path" : NULL;
	case K_URL:
		if (!str_starts(v, "http://") && !str_starts(v, "https://"))
			return "is not an http:// or https:// URL";
		if (strpbrk(v, " \t\"'<>\\") != NULL)
			return "contains characters not allowed in a URL";
		return url_authority_problem(v);
	case K_MQTT_URL:
		return mqtt_url_problem(v);
	case K_TOPIC:
		return topic_problem(v);
	case K_ADDR:
		return ip_literal(v) ? NULL
				     : "is not an IPv4 or IPv6 address (0.0.0.0: every interface, "
				       "127.0.0.1: this machine only)";
	case K_SOURCE:
		return srcspec_parse_list(v, tmp, SRC_MAX, &n, why2, len) < 0 ? why2 : NULL;
	case K_NAMES:
		return names_ok(v) ? NULL
				   : "is not a list of host names (letters, digits, '-' and '.', "
				     "separated by commas or blanks)";
	case K_GPS: {
		char host[64], port[8], w[200];
		if (config_gps_parse(v, host, sizeof(host), port, sizeof(port), w, sizeof(w)) == 0)
			return NULL;
		snprintf(why2, len, "'%.60s' %.150s", v, w);
		return why2;
	}
	case K_FIELDS:
		return fields_problem(v, why2, len);
	case K_TOU: /* parsed for the check; cross_checks() parses it into cfg->tariff */
		return tariff_parse_tou(&tt, v, why2, len) < 0 ? why2 : NULL;
	default:
		return NULL;
	}
}

static int
check_string(const struct key *k, const char *v, char *err, size_t errlen)
{
	char why2[300];
	const char *why;

	if (strlen(v) >= k->size) {
		snprintf(err, errlen, "%s: value longer than %zu characters", k->name, k->size - 1);
		return -1;
	}
	if ((why = string_problem(k, v, why2, sizeof(why2))) == NULL)
		return 0;
	if (why == why2) /* the source list (the tou windows) names the part at fault */
		snprintf(err, errlen, "%s: %s", k->name, why);
	else
		snprintf(err, errlen, "%s: '%s' %s", k->name, v, why);
	return -1;
}

/* K_DBL: a number in range; K_PRICE: empty (not set) or a number >= 0. */
static int
set_double(const struct key *k, char *field, const char *v, char *err, size_t errlen)
{
	double d;

	if (k->type == K_PRICE && v[0] == '\0') {
		*(double *)field = NAN;
		return 0;
	}
	if (k->type == K_PRICE && (parse_double(v, &d) < 0 || !isfinite(d) || d < 0 || d > 1e6)) {
		snprintf(err, errlen, "%s: '%s' is not a price (empty, or a number from 0)",
			 k->name, v);
		return -1;
	}
	if (k->type == K_DBL &&
	    (parse_double(v, &d) < 0 || !isfinite(d) || d < k->dmin || d > k->dmax)) {
		snprintf(err, errlen, "%s: '%s' is not a number from %g to %g", k->name, v, k->dmin,
			 k->dmax);
		return -1;
	}
	*(double *)field = d;
	return 0;
}

int
config_value_set(struct config *cfg, const struct key *k, const char *v, char *err, size_t errlen)
{
	char *field = (char *)cfg + k->off;
	int64_t iv;
	bool bv;
	int idx;

	if (config_key_is_string(k->type)) {
		if (check_string(k, v, err, errlen) < 0)
			return -1;
		strcpy(field, v);
		return 0;
	}
	switch (k->type) {
	case K_INT:
	case K_I64:
		if (parse_i64(v, k->min, k->max, &iv) < 0) {
			snprintf(err, errlen, "%s: '%s' is not an integer from %lld to %lld",
				 k->name, v, (long long)k->min, (long long)k->max);
			return -1;
		}
		if (k->type == K_INT)
			*(int *)field = (int)iv;
		else
			*(int64_t *)field = iv;
		return 0;
	case K_BOOL:
		if (parse_bool(v, &bv) < 0) {
			snprintf(err, errlen, "%s: '%s' is not true or false", k->name, v);
			return -1;
		}
		*(bool *)field = bv;
		return 0;
	case K_LEVEL:
		idx = log_level_parse(v);
		if (idx < 0) {
			snprintf(err, errlen,
				 "%s: '%s' is not debug, info, notice, warning or error", k->name,
				 v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case K_API:
		idx = config_pick(v, api_names, 3);
		if (idx < 0) {
			snprintf(err, errlen, "%s: '%s' is not auto, v1 or v2", k->name, v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case K_PREC:
		idx = config_pick(v, prec_names, 4);
		if (idx < 0 && strcmp(v, "u") == 0)
			idx = PREC_US;
		if (idx < 0) {
			snprintf(err, errlen, "%s: '%s' is not ns, us, ms or s", k->name, v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case K_GEN:
		idx = strcmp(v, "auto") == 0 ? CFG_GEN_AUTO : config_pick(v, gen_names, 3);
		if (idx < CFG_GEN_AUTO || (idx == -1 && strcmp(v, "auto") != 0)) {
			snprintf(err, errlen, "%s: '%s' is not auto, ZE0, AZE0 or ZE1", k->name, v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case K_DBL:
	case K_PRICE:
		return set_double(k, field, v, err, errlen);
	default:
		return -1;
	}
}

void
config_value_dump(struct buf *b, const struct config *cfg, const struct key *k)
{
	const char *field = (const char *)cfg + k->off;
	if (config_key_is_string(k->type)) {
		buf_puts(b, field);
		return;
	}
	switch (k->type) {
	case K_INT:
		buf_printf(b, "%d", *(const int *)field);
		break;
	case K_I64:
		buf_printf(b, "%lld", (long long)*(const int64_t *)field);
		break;
	case K_BOOL:
		buf_puts(b, *(const bool *)field ? "true" : "false");
		break;
	case K_LEVEL:
		buf_puts(b, log_level_name(*(const int *)field));
		break;
	case K_API:
		buf_puts(b, api_names[*(const int *)field]);
		break;
	case K_PREC:
		buf_puts(b, prec_names[*(const int *)field]);
		break;
	case K_GEN: {
		int g = *(const int *)field;
		buf_puts(b, g == CFG_GEN_AUTO ? "auto" : gen_names[g]);
		break;
	}
	case K_DBL:
	case K_PRICE:
		if (isfinite(*(const double *)field))
			buf_printf(b, "%g", *(const double *)field);
		break;
	default:
		break;
	}
}
