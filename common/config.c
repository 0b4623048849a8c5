/*
 * Config loading. The key table below is the only list of keys: parsing,
 * defaults, --check-config output and reload diffs all walk it. Line numbers
 * come from a counting reader around libinih, so checks that span keys can
 * still point at the line of the key at fault.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#ifndef LEAFMON_DEFAULT_WORKER_DIR
#define LEAFMON_DEFAULT_WORKER_DIR "/usr/local/libexec/leafmon"
#endif

enum ktype {
	K_STR, K_INT, K_I64, K_BOOL, K_LEVEL, K_API, K_PREC, K_GEN, K_URL, K_PATH, K_SOURCE,
	K_DBL,	 /* a number in [dmin, dmax] */
	K_PRICE, /* empty (NAN: not set) or a number >= 0 */
	K_TOU,	 /* the tariff's time-of-use windows (tariff.h) */
};

struct key {
	int sec;
	const char *name;
	enum ktype type;
	size_t off;
	size_t size;
	int64_t min, max;
	const char *def;
	double dmin, dmax; /* K_DBL */
};

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define W(sec, field) offsetof(struct config, sec.field), sizeof(((struct config *)0)->sec.field)

static const struct key keys[] = {
    {SEC_SUPERVISOR, "rundir", K_PATH, F(sup.rundir), 0, 0, ""},
    {SEC_SUPERVISOR, "statedir", K_PATH, F(sup.statedir), 0, 0, ""},
    {SEC_SUPERVISOR, "vehicle", K_STR, F(sup.vehicle), 0, 0, ""},
    {SEC_SUPERVISOR, "log_level", K_LEVEL, F(sup.log_level), 0, 0, "info"},
    {SEC_SUPERVISOR, "restart_min_ms", K_INT, F(sup.restart_min_ms), 1, 3600000, "100"},
    {SEC_SUPERVISOR, "restart_max_ms", K_INT, F(sup.restart_max_ms), 1, 3600000, "30000"},
    {SEC_SUPERVISOR, "failed_after", K_INT, F(sup.failed_after), 1, 1000, "10"},
    {SEC_SUPERVISOR, "failed_window_s", K_INT, F(sup.failed_window_s), 1, 86400, "300"},
    {SEC_SUPERVISOR, "failed_retry_s", K_INT, F(sup.failed_retry_s), 1, 86400, "600"},
    {SEC_SUPERVISOR, "heartbeat_timeout_s", K_INT, F(sup.heartbeat_timeout_s), 1, 3600, "10"},
    {SEC_SUPERVISOR, "stop_timeout_s", K_INT, F(sup.stop_timeout_s), 1, 300, "10"},
    {SEC_SUPERVISOR, "journal_mb", K_INT, F(sup.journal_mb), 1, 1024, "16"},
    {SEC_SUPERVISOR, "worker_dir", K_PATH, F(sup.worker_dir), 0, 0, ""},

    {SEC_CAN, "source", K_SOURCE, F(can.source), 0, 0, "socketcan:can0@ev"},
    {SEC_CAN, "publish_interval_ms", K_INT, F(can.publish_interval_ms), 10, 60000, "100"},
    {SEC_CAN, "generation", K_GEN, F(can.generation), 0, 0, "auto"},
    {SEC_CAN, "asleep_after_s", K_INT, F(can.asleep_after_s), 1, 86400, "30"},
    {SEC_CAN, "record", K_BOOL, F(can.record), 0, 0, "false"},
    {SEC_CAN, "record_max_mb", K_INT, F(can.record_max_mb), 1, 1000000, "512"},
    {SEC_CAN, "poll_cells", K_BOOL, F(can.poll_cells), 0, 0, "false"},

#define WRITER_KEYS(SEC, sec, URL, API, ORG, BUCKET, TOKEN, PREC, SPOOL, TIMEOUT, HOLD)        \
	{SEC, "enabled", K_BOOL, W(sec, enabled), 0, 0, SEC == SEC_INFLUX ? "true" : "false"},     \
	    {SEC, "url", K_URL, W(sec, url), 0, 0, URL},                                            \
	    {SEC, "api", K_API, W(sec, api), 0, 0, API},                                            \
	    {SEC, "database", K_STR, W(sec, database), 0, 0, "leaf"},                               \
	    {SEC, "retention_policy", K_STR, W(sec, retention_policy), 0, 0, ""},                   \
	    {SEC, "org", K_STR, W(sec, org), 0, 0, ORG},                                            \
	    {SEC, "bucket", K_STR, W(sec, bucket), 0, 0, BUCKET},                                   \
	    {SEC, "token_file", K_PATH, W(sec, token_file), 0, 0, TOKEN},                           \
	    {SEC, "ca_file", K_PATH, W(sec, ca_file), 0, 0, ""},                                    \
	    {SEC, "precision", K_PREC, W(sec, precision), 0, 0, PREC},                              \
	    {SEC, "spool_max_mb", K_INT, W(sec, spool_max_mb), 1, 1000000, SPOOL},                  \
	    {SEC, "timeout_s", K_INT, W(sec, timeout_s), 1, 3600, TIMEOUT},                         \
	    {SEC, "batch_lines", K_INT, W(sec, batch_lines), 1, 100000, "5000"},                   \
	    {SEC, "unsynced_hold_s", K_INT, W(sec, unsynced_hold_s), 0, 31536000, HOLD}

    WRITER_KEYS(SEC_INFLUX, influx, "http://127.0.0.1:8086", "auto", "leaf-telemetry", "leaf-data",
		"", "ms", "256", "10", "60"),
    WRITER_KEYS(SEC_CLOUD, cloud, "https://us-west-2-1.aws.cloud2.influxdata.com", "v2", "",
		"leaf-telemetry", "/etc/leafmon/cloud.token", "ms", "1024", "30", "3600"),
    {SEC_CLOUD, "resolution_ms", K_INT, W(cloud, resolution_ms), 0, 3600000, "1000"},
    {SEC_CLOUD, "sync_interval_s", K_INT, W(cloud, sync_interval_s), 1, 86400, "300"},
    {SEC_CLOUD, "max_bytes_per_5min", K_I64, W(cloud, max_bytes_per_5min), 1000,
     1000000000000LL, "5000000"},
    {SEC_CLOUD, "retention_days", K_INT, W(cloud, retention_days), 1, 36500, "30"},
    {SEC_CLOUD, "gzip", K_BOOL, W(cloud, gzip), 0, 0, "true"},
    {SEC_CLOUD, "ping_timeout_s", K_INT, W(cloud, ping_timeout_s), 1, 300, "5"},
    {SEC_CLOUD, "pacing_window_s", K_INT, W(cloud, pacing_window_s), 1, 86400, "300"},

    {SEC_WEB, "enabled", K_BOOL, F(web.enabled), 0, 0, "true"},
    {SEC_WEB, "bind", K_STR, F(web.bind), 0, 0, "0.0.0.0"},
    {SEC_WEB, "port", K_INT, F(web.port), 0, 65535, "8080"},
    {SEC_WEB, "root", K_PATH, F(web.root), 0, 0, ""},
    {SEC_WEB, "password_file", K_PATH, F(web.password_file), 0, 0, ""},
    {SEC_WEB, "tls_cert", K_PATH, F(web.tls_cert), 0, 0, ""},
    {SEC_WEB, "tls_key", K_PATH, F(web.tls_key), 0, 0, ""},
    {SEC_WEB, "history_ring_hours", K_INT, F(web.history_ring_hours), 0, 168, "24"},
    {SEC_WEB, "max_clients", K_INT, F(web.max_clients), 1, 10000, "256"},
    {SEC_WEB, "max_per_ip", K_INT, F(web.max_per_ip), 1, 10000, "32"},
    {SEC_WEB, "session_days", K_INT, F(web.session_days), 1, 3650, "30"},

    {SEC_LEDGER, "enabled", K_BOOL, F(ledger.enabled), 0, 0, "true"},
    {SEC_LEDGER, "trip_end_s", K_INT, F(ledger.trip_end_s), 10, 86400, "300"},
    {SEC_LEDGER, "min_trip_km", K_DBL, F(ledger.min_trip_km), 0, 0, "0.1", 0, 100},
    {SEC_LEDGER, "ac_efficiency", K_DBL, F(ledger.ac_efficiency), 0, 0, "0.88", 0.5, 1},
    {SEC_LEDGER, "soh_disagree_pct", K_DBL, F(ledger.soh_disagree_pct), 0, 0, "5", 0.1, 100},

    {SEC_TARIFF, "currency", K_STR, F(tariff.currency), 0, 0, ""},
    {SEC_TARIFF, "price_kwh", K_PRICE, F(tariff.price_kwh), 0, 0, ""},
    {SEC_TARIFF, "tou", K_TOU, F(tou), 0, 0, ""},
    {SEC_TARIFF, "qc_price_kwh", K_PRICE, F(tariff.qc_price_kwh), 0, 0, ""},
    {SEC_TARIFF, "qc_price_min", K_PRICE, F(tariff.qc_price_min), 0, 0, ""},
    {SEC_TARIFF, "qc_session_fee", K_PRICE, F(tariff.qc_session_fee), 0, 0, ""},
};

#define NKEYS ARRAY_LEN(keys)

static const char *const section_names[SEC_COUNT] = {"supervisor", "can",    "influx", "cloud",
						     "web",	   "ledger", "tariff"};

/* The original Python system's environment variables. */
static const struct {
	const char *env;
	int sec;
	const char *key;
} env_map[] = {
    {"CAN_INTERFACE", SEC_CAN, "source"}, {"INFLUX_URL", SEC_INFLUX, "url"},
    {"INFLUX_ORG", SEC_INFLUX, "org"},	  {"INFLUX_BUCKET", SEC_INFLUX, "bucket"},
    {"INFLUX_CLOUD_URL", SEC_CLOUD, "url"}, {"INFLUX_CLOUD_ORG", SEC_CLOUD, "org"},
    {"INFLUX_CLOUD_BUCKET", SEC_CLOUD, "bucket"},
    {"SYNC_INTERVAL_SECONDS", SEC_CLOUD, "sync_interval_s"}, {"WEB_PORT", SEC_WEB, "port"},
};

struct loader {
	struct config *cfg;
	const char *name;
	int lineno;
	int line[NKEYS]; /* where each key was set; 0 = default */
	int err_line;
	char err[512];
};

const char *
config_section_name(int sec)
{
	return (sec >= 0 && sec < SEC_COUNT) ? section_names[sec] : "?";
}

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

static int
pick(const char *v, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
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
		snprintf(err, errlen, "%s: '%s' is not a price (empty, or a number from 0)", k->name, v);
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

/* The windows are parsed here for the check, and again into cfg->tariff
 * once the whole file is read (cross_checks). */
static int
set_tou(const struct key *k, char *field, const char *v, char *err, size_t errlen)
{
	struct tariff t;
	char why[300];

	if (strlen(v) >= k->size) {
		snprintf(err, errlen, "%s: value longer than %zu characters", k->name, k->size - 1);
		return -1;
	}
	if (tariff_parse_tou(&t, v, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", k->name, why);
		return -1;
	}
	strcpy(field, v);
	return 0;
}

static int
set_value(struct config *cfg, const struct key *k, const char *v, char *err, size_t errlen)
{
	char *field = (char *)cfg + k->off;
	int64_t iv;
	bool bv;
	int idx;

	switch (k->type) {
	case K_STR:
	case K_PATH:
	case K_URL:
	case K_SOURCE:
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "%s: value longer than %zu characters", k->name,
				 k->size - 1);
			return -1;
		}
		if (k->type == K_PATH && v[0] != '\0' && v[0] != '/') {
			snprintf(err, errlen, "%s: '%s' is not an absolute path", k->name, v);
			return -1;
		}
		if (k->type == K_URL && !str_starts(v, "http://") && !str_starts(v, "https://")) {
			snprintf(err, errlen, "%s: '%s' is not an http:// or https:// URL", k->name, v);
			return -1;
		}
		if (k->type == K_URL && strpbrk(v, " \t\"'<>") != NULL) {
			snprintf(err, errlen, "%s: '%s' contains characters not allowed in a URL",
				 k->name, v);
			return -1;
		}
		if (k->type == K_SOURCE) {
			struct src_spec tmp[SRC_MAX];
			int n;
			char why[300];
			if (srcspec_parse_list(v, tmp, SRC_MAX, &n, why, sizeof(why)) < 0) {
				snprintf(err, errlen, "%s: %s", k->name, why);
				return -1;
			}
		}
		strcpy(field, v);
		return 0;
	case K_INT:
	case K_I64:
		if (parse_i64(v, k->min, k->max, &iv) < 0) {
			snprintf(err, errlen, "%s: '%s' is not an integer from %lld to %lld", k->name,
				 v, (long long)k->min, (long long)k->max);
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
			snprintf(err, errlen, "%s: '%s' is not debug, info, notice, warning or error",
				 k->name, v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case K_API:
		idx = pick(v, api_names, 3);
		if (idx < 0) {
			snprintf(err, errlen, "%s: '%s' is not auto, v1 or v2", k->name, v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case K_PREC:
		idx = pick(v, prec_names, 4);
		if (idx < 0 && strcmp(v, "u") == 0)
			idx = PREC_US;
		if (idx < 0) {
			snprintf(err, errlen, "%s: '%s' is not ns, us, ms or s", k->name, v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	case K_DBL:
	case K_PRICE:
		return set_double(k, field, v, err, errlen);
	case K_TOU:
		return set_tou(k, field, v, err, errlen);
	case K_GEN:
		idx = strcmp(v, "auto") == 0 ? CFG_GEN_AUTO : pick(v, gen_names, 3);
		if (idx < CFG_GEN_AUTO || (idx == -1 && strcmp(v, "auto") != 0)) {
			snprintf(err, errlen, "%s: '%s' is not auto, ZE0, AZE0 or ZE1", k->name, v);
			return -1;
		}
		*(int *)field = idx;
		return 0;
	}
	return -1;
}

static const struct key *
find_key(int sec, const char *name, size_t *idx)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sec == sec && strcmp(keys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &keys[i];
		}
	return NULL;
}

/* The line a key was set on, 0 when it kept its default. */
static int
key_line(const struct loader *ld, int sec, const char *name)
{
	size_t idx;
	return find_key(sec, name, &idx) != NULL ? ld->line[idx] : 0;
}

void
config_defaults(struct config *cfg)
{
	char err[256];
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++)
		if (set_value(cfg, &keys[i], keys[i].def, err, sizeof(err)) < 0)
			fatalx("config default: %s", err); /* a bug in the table */
}

static void
loader_error(struct loader *ld, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
loader_error(struct loader *ld, int line, const char *fmt, ...)
{
	if (ld->err_line != 0 || ld->err[0] != '\0')
		return; /* keep the first */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ld->err, sizeof(ld->err), fmt, ap);
	va_end(ap);
	ld->err_line = line;
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct loader *ld = user;
	int sec = pick(section, section_names, SEC_COUNT);
	char why[400];
	size_t idx;

	if (sec < 0 && section[0] == '\0') {
		loader_error(ld, ld->lineno, "key '%s' outside any [section]", name);
		return 0;
	}
	if (sec < 0) {
		loader_error(ld, ld->lineno, "unknown section [%s]", section);
		return 0;
	}
	const struct key *k = find_key(sec, name, &idx);
	if (k == NULL) {
		loader_error(ld, ld->lineno, "unknown key '%s' in [%s]", name, section);
		return 0;
	}
	if (ld->line[idx] != 0) {
		loader_error(ld, ld->lineno, "%s: already set on line %d", name, ld->line[idx]);
		return 0;
	}
	if (set_value(ld->cfg, k, value, why, sizeof(why)) < 0) {
		loader_error(ld, ld->lineno, "%s", why);
		return 0;
	}
	ld->line[idx] = ld->lineno;
	return 1;
}

struct line_reader {
	FILE *fp;
	const char *text; /* or a string */
	struct loader *ld;
	size_t cur_len;	  /* bytes of the current line read so far */
	bool mid_line;	  /* the last chunk did not end the line */
};

#define INI_LINE_MAX 1100

/*
 * fgets-style reader for inih that counts lines. inih may read one long
 * line in several chunks (it grows its buffer), so a line starts only
 * after a chunk that ended with a newline.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct line_reader *r = stream;
	char *got;

	if (r->fp != NULL) {
		got = fgets(str, num, r->fp);
	} else {
		if (*r->text == '\0')
			return NULL;
		size_t n = strcspn(r->text, "\n");
		size_t take = n + (r->text[n] == '\n');
		if (take >= (size_t)num)
			take = (size_t)num - 1;
		memcpy(str, r->text, take);
		str[take] = '\0';
		r->text += take;
		got = str;
	}
	if (got == NULL)
		return NULL;
	if (!r->mid_line) {
		r->ld->lineno++;
		r->cur_len = 0;
	}
	size_t len = strlen(str);
	r->cur_len += len;
	r->mid_line = len == 0 || str[len - 1] != '\n';
	if (r->cur_len > INI_LINE_MAX - 2)
		loader_error(r->ld, r->ld->lineno, "line longer than %d characters",
			     INI_LINE_MAX - 2);
	return got;
}

static int
load_token(struct loader *ld, struct cfg_writer *w, int sec)
{
	int kline = key_line(ld, sec, "token_file");
	if (w->token[0] != '\0' || w->token_file[0] == '\0')
		return 0;
	struct stat st;
	size_t len;
	char *tok = file_read_str(w->token_file, sizeof(w->token) - 1, &len);
	if (tok == NULL) {
		loader_error(ld, kline, "token_file %s: %s", w->token_file,
			     strerror(errno));
		return -1;
	}
	while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' '))
		tok[--len] = '\0';
	if (len == 0 || strpbrk(tok, "\r\n\t ") != NULL) {
		loader_error(ld, kline, "token_file %s: %s", w->token_file,
			     len == 0 ? "file is empty" : "token contains white space");
		free(tok);
		return -1;
	}
	memcpy(w->token, tok, len + 1);
	free(tok);
	snprintf(w->token_origin, sizeof(w->token_origin), "file %s", w->token_file);
	if (stat(w->token_file, &st) == 0 && (st.st_mode & 077) != 0) {
		size_t used = strlen(ld->cfg->warnings);
		snprintf(ld->cfg->warnings + used, sizeof(ld->cfg->warnings) - used,
			 "%s: token_file %s is readable by group or others (chmod 600)\n",
			 config_section_name(sec), w->token_file);
	}
	return 0;
}

static int
load_password(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	size_t len;
	int kline;
	struct stat st;

	if (!cfg->web.enabled || cfg->web.password_file[0] == '\0')
		return 0;
	kline = key_line(ld, SEC_WEB, "password_file");
	char *pw = file_read_str(cfg->web.password_file, sizeof(cfg->web.password) - 1, &len);
	if (pw == NULL) {
		loader_error(ld, kline, "password_file %s: %s", cfg->web.password_file,
			     strerror(errno));
		return -1;
	}
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	if (len < 8) {
		loader_error(ld, kline, "password_file %s: password shorter than 8 characters",
			     cfg->web.password_file);
		free(pw);
		return -1;
	}
	memcpy(cfg->web.password, pw, len + 1);
	free(pw);
	if (stat(cfg->web.password_file, &st) == 0 && (st.st_mode & 077) != 0) {
		size_t used = strlen(cfg->warnings);
		snprintf(cfg->warnings + used, sizeof(cfg->warnings) - used,
			 "web: password_file %s is readable by group or others (chmod 600)\n",
			 cfg->web.password_file);
	}
	return 0;
}

static int
apply_env(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	char why[400], val[600];

	for (size_t i = 0; i < ARRAY_LEN(env_map); i++) {
		const char *v = getenv(env_map[i].env);
		if (v == NULL)
			continue;
		const struct key *k = find_key(env_map[i].sec, env_map[i].key, NULL);
		if (strcmp(env_map[i].env, "CAN_INTERFACE") == 0)
			snprintf(val, sizeof(val), "socketcan:%s", v);
		else
			snprintf(val, sizeof(val), "%s", v);
		if (set_value(cfg, k, val, why, sizeof(why)) < 0) {
			snprintf(ld->err, sizeof(ld->err), "environment %s: %s", env_map[i].env, why);
			return -1;
		}
	}
	static const char *const tokens[] = {"INFLUX_TOKEN", "INFLUX_CLOUD_TOKEN"};
	for (size_t i = 0; i < ARRAY_LEN(tokens); i++) {
		const char *v = getenv(tokens[i]);
		struct cfg_writer *w = i == 0 ? &cfg->influx : &cfg->cloud;
		if (v == NULL || *v == '\0')
			continue;
		if (strlen(v) >= sizeof(w->token) || strpbrk(v, "\r\n\t ") != NULL) {
			snprintf(ld->err, sizeof(ld->err),
				 "environment %s: token too long or contains white space",
				 tokens[i]);
			return -1;
		}
		strcpy(w->token, v);
		snprintf(w->token_origin, sizeof(w->token_origin), "environment %s", tokens[i]);
	}
	return 0;
}

static int
cross_checks(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	int kline;
	char why[300];

	if (cfg->sup.restart_min_ms > cfg->sup.restart_max_ms) {
		kline = key_line(ld, SEC_SUPERVISOR, "restart_min_ms");
		loader_error(ld, kline, "restart_min_ms (%d) is above restart_max_ms (%d)",
			     cfg->sup.restart_min_ms, cfg->sup.restart_max_ms);
		return -1;
	}
	kline = key_line(ld, SEC_CAN, "source");
	if (srcspec_parse_list(cfg->can.source, cfg->can.src, SRC_MAX, &cfg->can.nsrc, why,
			       sizeof(why)) < 0) {
		loader_error(ld, kline, "source: %s", why);
		return -1;
	}
	if ((cfg->web.tls_cert[0] == '\0') != (cfg->web.tls_key[0] == '\0')) {
		kline = key_line(ld, SEC_WEB, cfg->web.tls_cert[0] ? "tls_cert" : "tls_key");
		loader_error(ld, kline, "tls_cert and tls_key must be set together");
		return -1;
	}
	if (cfg->influx.enabled && load_token(ld, &cfg->influx, SEC_INFLUX) < 0)
		return -1;
	if (cfg->cloud.enabled) {
		if (load_token(ld, &cfg->cloud, SEC_CLOUD) < 0)
			return -1;
		if (cfg->cloud.token[0] == '\0' && cfg->cloud.api != API_V1) {
			kline = key_line(ld, SEC_CLOUD, "token_file");
			loader_error(ld, kline,
				     "cloud is enabled but has no token (token_file or "
				     "INFLUX_CLOUD_TOKEN)");
			return -1;
		}
		if (cfg->cloud.api == API_V2 && cfg->cloud.org[0] == '\0') {
			kline = key_line(ld, SEC_CLOUD, "org");
			loader_error(ld, kline, "cloud api v2 needs an org");
			return -1;
		}
	}
	if (load_password(ld) < 0)
		return -1;
	if (tariff_parse_tou(&cfg->tariff, cfg->tou, why, sizeof(why)) < 0) {
		loader_error(ld, key_line(ld, SEC_TARIFF, "tou"), "tou: %s", why);
		return -1;
	}
	return 0;
}

static int
finish(struct loader *ld, int rc, char *err, size_t errlen)
{
	if (rc == 0 && ld->err[0] == '\0' && apply_env(ld) == 0 && cross_checks(ld) == 0)
		return 0;
	/* inih reports lines it cannot parse without calling us: the earlier wins */
	if (rc > 0 && (ld->err[0] == '\0' || ld->err_line == 0 || rc < ld->err_line)) {
		snprintf(ld->err, sizeof(ld->err),
			 "syntax error (expected [section], key = value or a comment)");
		ld->err_line = rc;
	}
	int line = ld->err_line;
	if (str_starts(ld->err, "environment "))
		snprintf(err, errlen, "%s", ld->err);
	else if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", ld->name, line, ld->err);
	else
		snprintf(err, errlen, "%s: %s", ld->name, ld->err);
	return -1;
}

/* Debian's libinih takes its options at run time: no continuation lines
 * (a stray indent is an error, not a silent append), long lines allowed. */
static void
ini_setup(void)
{
	ini_allow_multiline = false;
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = INI_LINE_MAX;
}

int
config_load(struct config *cfg, const char *path, bool allow_missing, char *err, size_t errlen)
{
	struct loader ld = {.cfg = cfg, .name = path ? path : "(defaults)"};
	int rc = 0;

	config_defaults(cfg);
	ini_setup();
	if (path != NULL) {
		str_copy(cfg->path, path, sizeof(cfg->path));
		FILE *fp = fopen(path, "re");
		if (fp == NULL && !(allow_missing && errno == ENOENT)) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (fp != NULL) {
			struct line_reader r = {.fp = fp, .ld = &ld};
			rc = ini_parse_stream(reader, &r, ini_cb, &ld);
			fclose(fp);
		} else {
			cfg->path[0] = '\0';
		}
	}
	return finish(&ld, rc, err, errlen);
}

int
config_load_string(struct config *cfg, const char *text, const char *name, char *err,
		   size_t errlen)
{
	struct loader ld = {.cfg = cfg, .name = name};
	config_defaults(cfg);
	str_copy(cfg->path, name, sizeof(cfg->path));
	ini_setup();
	struct line_reader r = {.text = text, .ld = &ld};
	int rc = ini_parse_stream(reader, &r, ini_cb, &ld);
	return finish(&ld, rc, err, errlen);
}

static void
dump_value(struct buf *b, const struct config *cfg, const struct key *k)
{
	const char *field = (const char *)cfg + k->off;
	switch (k->type) {
	case K_STR:
	case K_PATH:
	case K_URL:
	case K_SOURCE:
		buf_puts(b, field);
		break;
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
	case K_DBL:
		buf_printf(b, "%g", *(const double *)field);
		break;
	case K_PRICE:
		if (isfinite(*(const double *)field))
			buf_printf(b, "%g", *(const double *)field);
		break;
	case K_TOU:
		buf_puts(b, field);
		break;
	case K_GEN: {
		int g = *(const int *)field;
		buf_puts(b, g == CFG_GEN_AUTO ? "auto" : gen_names[g]);
		break;
	}
	}
}

char *
config_dump(const struct config *cfg)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "; effective configuration (%s, environment applied)\n",
		   cfg->path[0] ? cfg->path : "defaults only");
	for (int sec = 0; sec < SEC_COUNT; sec++) {
		buf_printf(&b, "\n[%s]\n", section_names[sec]);
		for (size_t i = 0; i < NKEYS; i++) {
			if (keys[i].sec != sec)
				continue;
			buf_printf(&b, "%s = ", keys[i].name);
			dump_value(&b, cfg, &keys[i]);
			buf_putc(&b, '\n');
		}
		const struct cfg_writer *w =
		    sec == SEC_INFLUX ? &cfg->influx : sec == SEC_CLOUD ? &cfg->cloud : NULL;
		if (w != NULL && w->token[0] != '\0')
			buf_printf(&b, "; token: set from %s (%zu characters, masked)\n",
				   w->token_origin, strlen(w->token));
		else if (w != NULL)
			buf_printf(&b, "; token: none\n");
		if (sec == SEC_WEB)
			buf_printf(&b, "; password: %s\n",
				   cfg->web.password[0] ? "set (masked)" : "none (no login)");
	}
	if (cfg->warnings[0] != '\0')
		buf_printf(&b, "\n; warnings:\n; %s", cfg->warnings);
	buf_str(&b);
	return b.p;
}

unsigned
config_diff(const struct config *a, const struct config *b)
{
	unsigned mask = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const char *fa = (const char *)a + keys[i].off;
		const char *fb = (const char *)b + keys[i].off;
		bool str = keys[i].type == K_STR || keys[i].type == K_PATH ||
			   keys[i].type == K_URL || keys[i].type == K_SOURCE || keys[i].type == K_TOU;
		if (str ? strcmp(fa, fb) != 0 : memcmp(fa, fb, keys[i].size) != 0)
			mask |= 1u << keys[i].sec;
	}
	if (strcmp(a->influx.token, b->influx.token) != 0)
		mask |= 1u << SEC_INFLUX;
	if (strcmp(a->cloud.token, b->cloud.token) != 0)
		mask |= 1u << SEC_CLOUD;
	if (strcmp(a->web.password, b->web.password) != 0)
		mask |= 1u << SEC_WEB;
	return mask;
}

const char *
config_builtin_worker_dir(void)
{
	return LEAFMON_DEFAULT_WORKER_DIR;
}

const char *
config_default_path(const char *opt)
{
	if (opt != NULL)
		return opt;
	const char *env = getenv("LEAFMON_CONFIG");
	if (env != NULL && *env != '\0')
		return env;
	return "/etc/leafmon/leafmon.conf";
}

static int
peek_cb(void *user, const char *section, const char *name, const char *value)
{
	struct config *cfg = user;
	if (strcmp(section, "supervisor") != 0 || value[0] != '/')
		return 1;
	if (strcmp(name, "rundir") == 0)
		str_copy(cfg->sup.rundir, value, sizeof(cfg->sup.rundir));
	else if (strcmp(name, "statedir") == 0)
		str_copy(cfg->sup.statedir, value, sizeof(cfg->sup.statedir));
	return 1;
}

void
config_peek_dirs(struct config *cfg, const char *path)
{
	config_defaults(cfg);
	ini_setup();
	ini_parse(path, peek_cb, cfg);
}
