/*
 * Config loading. The key table below is the only list of keys: parsing,
 * defaults, --check-config output and reload diffs all walk it. Line numbers
 * come from a counting reader around libinih, so checks that span keys can
 * still point at the line of the key at fault.
 */
#include "config_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
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
    {SEC_CAN, "keyframe_s", K_INT, F(can.keyframe_s), 0, 86400, "60"},
    {SEC_CAN, "generation", K_GEN, F(can.generation), 0, 0, "auto"},
    {SEC_CAN, "asleep_after_s", K_INT, F(can.asleep_after_s), 1, 86400, "30"},
    {SEC_CAN, "read_batch_ms", K_INT, F(can.read_batch_ms), 0, 100, "10"},
    {SEC_CAN, "record", K_BOOL, F(can.record), 0, 0, "false"},
    {SEC_CAN, "record_max_mb", K_INT, F(can.record_max_mb), 1, 1000000, "512"},
    {SEC_CAN, "poll_cells", K_BOOL, F(can.poll_cells), 0, 0, "false"},
    {SEC_CAN, "poll_interval_s", K_INT, F(can.poll_interval_s), 10, 86400, "300"},

#define WRITER_KEYS(SEC, sec, URL, API, ORG, BUCKET, TOKEN, PREC, SPOOL, TIMEOUT, HOLD)        \
	{SEC, "enabled", K_BOOL, W(sec, enabled), 0, 0, SEC == SEC_INFLUX ? "true" : "false"},     \
	    {SEC, "url", K_URL, W(sec, url), 0, 0, URL},                                            \
	    {SEC, "api", K_API, W(sec, api), 0, 0, API},                                            \
	    {SEC, "database", K_STR, W(sec, database), 0, 0, "leaf"},                               \
	    {SEC, "retention_policy", K_STR, W(sec, retention_policy), 0, 0, ""},                   \
	    {SEC, "session_rp", K_STR, W(sec, session_rp), 0, 0, "forever"},                        \
	    {SEC, "org", K_STR, W(sec, org), 0, 0, ORG},                                            \
	    {SEC, "bucket", K_STR, W(sec, bucket), 0, 0, BUCKET},                                   \
	    {SEC, "session_bucket", K_STR, W(sec, session_bucket), 0, 0, "leaf-sessions"},          \
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
    {SEC_WEB, "bind", K_ADDR, F(web.bind), 0, 0, "0.0.0.0"},
    {SEC_WEB, "port", K_INT, F(web.port), 0, 65535, "8080"},
    {SEC_WEB, "root", K_PATH, F(web.root), 0, 0, ""},
    {SEC_WEB, "password_file", K_PATH, F(web.password_file), 0, 0, ""},
    {SEC_WEB, "tls_cert", K_PATH, F(web.tls_cert), 0, 0, ""},
    {SEC_WEB, "tls_key", K_PATH, F(web.tls_key), 0, 0, ""},
    {SEC_WEB, "history_ring_hours", K_INT, F(web.history_ring_hours), 0, 168, "24"},
    {SEC_WEB, "max_clients", K_INT, F(web.max_clients), 1, 10000, "256"},
    {SEC_WEB, "max_per_ip", K_INT, F(web.max_per_ip), 1, 10000, "32"},
    {SEC_WEB, "session_days", K_INT, F(web.session_days), 1, 3650, "30"},
    {SEC_WEB, "server_name", K_NAMES, F(web.server_name), 0, 0, ""},

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

    {SEC_MQTT, "enabled", K_BOOL, F(mqtt.enabled), 0, 0, "false"},
    {SEC_MQTT, "url", K_MQTT_URL, F(mqtt.url), 0, 0, "mqtt://127.0.0.1:1883"},
    {SEC_MQTT, "username", K_STR, F(mqtt.username), 0, 0, ""},
    {SEC_MQTT, "password_file", K_PATH, F(mqtt.password_file), 0, 0, ""},
    {SEC_MQTT, "ca_file", K_PATH, F(mqtt.ca_file), 0, 0, ""},
    {SEC_MQTT, "client_id", K_STR, F(mqtt.client_id), 0, 0, ""},
    {SEC_MQTT, "topic_prefix", K_TOPIC, F(mqtt.topic_prefix), 0, 0, ""},
    {SEC_MQTT, "qos", K_INT, F(mqtt.qos), 0, 2, "1"},
    {SEC_MQTT, "publish_interval_ms", K_INT, F(mqtt.publish_interval_ms), 100, 3600000, "1000"},
    {SEC_MQTT, "discovery", K_BOOL, F(mqtt.discovery), 0, 0, "true"},
    {SEC_MQTT, "discovery_prefix", K_TOPIC, F(mqtt.discovery_prefix), 0, 0, "homeassistant"},

    {SEC_GPS, "source", K_GPS, F(gps.source), 0, 0, ""},

    {SEC_ABRP, "enabled", K_BOOL, F(abrp.enabled), 0, 0, "false"},
    {SEC_ABRP, "token_file", K_PATH, F(abrp.token_file), 0, 0, ""},
    {SEC_ABRP, "api_key_file", K_PATH, F(abrp.api_key_file), 0, 0, ""},
    {SEC_ABRP, "url", K_URL, F(abrp.url), 0, 0, "https://api.iternio.com/1/tlm/send"},
    {SEC_ABRP, "fields", K_FIELDS, F(abrp.fields), 0, 0, ""},
    {SEC_ABRP, "send_location", K_BOOL, F(abrp.send_location), 0, 0, "false"},
};

#define NKEYS ARRAY_LEN(keys)

static const char *const section_names[SEC_COUNT] = {
    "supervisor", "can", "influx", "cloud", "web", "ledger", "tariff", "mqtt", "gps", "abrp"};

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
    {"MQTT_URL", SEC_MQTT, "url"}, {"MQTT_USERNAME", SEC_MQTT, "username"},
};

struct loader {
	struct config *cfg;
	const char *name;
	int lineno;
	int line[NKEYS]; /* where each key was set; 0 = default */
	int err_line;
	char err[512];
};

static const char *
config_section_name(int sec)
{
	return (sec >= 0 && sec < SEC_COUNT) ? section_names[sec] : "?";
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
		if (config_value_set(cfg, &keys[i], keys[i].def, err, sizeof(err)) < 0)
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
	int sec = config_pick(section, section_names, SEC_COUNT);
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
	if (config_value_set(ld->cfg, k, value, why, sizeof(why)) < 0) {
		loader_error(ld, ld->lineno, "%s", why);
		return 0;
	}
	ld->line[idx] = ld->lineno;
	return 1;
}

struct line_reader {
	const char *text; /* the whole file, NUL-terminated, without NUL bytes */
	struct loader *ld;
	size_t cur_len;	  /* bytes of the current line read so far */
	bool mid_line;	  /* the last chunk did not end the line */
};

#define INI_LINE_MAX 1100
#define CONFIG_FILE_MAX (1 << 20)

/*
 * fgets-style reader for inih that counts lines. inih may read one long
 * line in several chunks (it grows its buffer), so a line starts only
 * after a chunk that ended with a newline.
 */
static char *
reader(char *str, int num, void *stream)
{
	struct line_reader *r = stream;

	if (*r->text == '\0')
		return NULL;
	size_t n = strcspn(r->text, "\n");
	size_t take = n + (r->text[n] == '\n');
	if (take >= (size_t)num)
		take = (size_t)num - 1;
	memcpy(str, r->text, take);
	str[take] = '\0';
	r->text += take;
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
	return str;
}

/* A secret (token, key) from the file at path (set on key's line) into out. */
static int
load_secret(struct loader *ld, int sec, const char *key, const char *path, char *out,
	    size_t outlen)
{
	int kline = key_line(ld, sec, key);
	struct stat st;
	size_t len;
	char *tok = file_read_str(path, outlen - 1, &len);

	if (tok == NULL) {
		loader_error(ld, kline, "%s %s: %s", key, path, strerror(errno));
		return -1;
	}
	while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' '))
		tok[--len] = '\0';
	if (len == 0 || strpbrk(tok, "\r\n\t ") != NULL) {
		loader_error(ld, kline, "%s %s: %s", key, path,
			     len == 0 ? "file is empty" : "token contains white space");
		free(tok);
		return -1;
	}
	memcpy(out, tok, len + 1);
	free(tok);
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		size_t used = strlen(ld->cfg->warnings);
		snprintf(ld->cfg->warnings + used, sizeof(ld->cfg->warnings) - used,
			 "%s: %s %s is readable by group or others (chmod 600)\n",
			 config_section_name(sec), key, path);
	}
	return 0;
}

static int
load_token(struct loader *ld, struct cfg_writer *w, int sec)
{
	if (w->token[0] != '\0' || w->token_file[0] == '\0')
		return 0;
	if (load_secret(ld, sec, "token_file", w->token_file, w->token, sizeof(w->token)) < 0)
		return -1;
	snprintf(w->token_origin, sizeof(w->token_origin), "file %s", w->token_file);
	return 0;
}

/* [abrp] enabled needs both secrets; [gps] source into host and port. */
static int
load_abrp_gps(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	char why[300];

	if (config_gps_parse(cfg->gps.source, cfg->gps.host, sizeof(cfg->gps.host), cfg->gps.port,
			     sizeof(cfg->gps.port), why, sizeof(why)) < 0) {
		loader_error(ld, key_line(ld, SEC_GPS, "source"), "source: %s", why);
		return -1;
	}
	if (!cfg->abrp.enabled)
		return 0;
	if (cfg->abrp.token_file[0] == '\0' || cfg->abrp.api_key_file[0] == '\0') {
		const char *k = cfg->abrp.token_file[0] == '\0' ? "token_file" : "api_key_file";
		loader_error(ld, key_line(ld, SEC_ABRP, "enabled"),
			     "abrp is enabled but has no %s", k);
		return -1;
	}
	return load_secret(ld, SEC_ABRP, "token_file", cfg->abrp.token_file, cfg->abrp.token,
			   sizeof(cfg->abrp.token)) < 0 ||
		       load_secret(ld, SEC_ABRP, "api_key_file", cfg->abrp.api_key_file,
				   cfg->abrp.api_key, sizeof(cfg->abrp.api_key)) < 0
		   ? -1
		   : 0;
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

/* [mqtt] password_file, unless MQTT_PASSWORD gave the password itself. */
static int
load_mqtt_password(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	size_t len;
	struct stat st;
	const char *path = cfg->mqtt.password_file;

	if (!cfg->mqtt.enabled || path[0] == '\0' || cfg->mqtt.password[0] != '\0')
		return 0;
	int kline = key_line(ld, SEC_MQTT, "password_file");
	char *pw = file_read_str(path, sizeof(cfg->mqtt.password) - 1, &len);
	if (pw == NULL) {
		loader_error(ld, kline, "password_file %s: %s", path, strerror(errno));
		return -1;
	}
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	if (len == 0 || !str_is_text(pw, len)) {
		loader_error(ld, kline, "password_file %s: %s", path,
			     len == 0 ? "file is empty" : "not one line of text");
		free(pw);
		return -1;
	}
	memcpy(cfg->mqtt.password, pw, len + 1);
	free(pw);
	snprintf(cfg->mqtt.password_origin, sizeof(cfg->mqtt.password_origin), "file %s", path);
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		size_t used = strlen(cfg->warnings);
		snprintf(cfg->warnings + used, sizeof(cfg->warnings) - used,
			 "mqtt: password_file %s is readable by group or others (chmod 600)\n",
			 path);
	}
	return 0;
}

static int
apply_env_mqtt_password(struct loader *ld)
{
	struct config *cfg = ld->cfg;
	const char *v = getenv("MQTT_PASSWORD");

	if (v == NULL || *v == '\0')
		return 0;
	if (strlen(v) >= sizeof(cfg->mqtt.password) || !str_is_text(v, strlen(v))) {
		snprintf(ld->err, sizeof(ld->err),
			 "environment MQTT_PASSWORD: too long or not printable text");
		return -1;
	}
	strcpy(cfg->mqtt.password, v);
	snprintf(cfg->mqtt.password_origin, sizeof(cfg->mqtt.password_origin),
		 "environment MQTT_PASSWORD");
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
		if (config_value_set(cfg, k, val, why, sizeof(why)) < 0) {
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
	return apply_env_mqtt_password(ld);
}

/* A file or directory an enabled part opens at start: it must be there, of
 * the right kind, so the check says so with file:line, not the worker. */
static int
check_path(struct loader *ld, int sec, const char *key, const char *path, bool dir)
{
	struct stat st;
	int kline = key_line(ld, sec, key);

	if (path[0] == '\0')
		return 0;
	if (stat(path, &st) == -1) {
		loader_error(ld, kline, "%s %s: %s", key, path, strerror(errno));
		return -1;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		loader_error(ld, kline, "%s %s: not a %s", key, path,
			     dir ? "directory" : "regular file");
		return -1;
	}
	return 0;
}

static int
check_paths(struct loader *ld)
{
	const struct config *cfg = ld->cfg;
	const struct cfg_writer *w;

	w = &cfg->influx;
	if (w->enabled && check_path(ld, SEC_INFLUX, "ca_file", w->ca_file, false) < 0)
		return -1;
	w = &cfg->cloud;
	if (w->enabled && check_path(ld, SEC_CLOUD, "ca_file", w->ca_file, false) < 0)
		return -1;
	if (cfg->mqtt.enabled && check_path(ld, SEC_MQTT, "ca_file", cfg->mqtt.ca_file, false) < 0)
		return -1;
	if (!cfg->web.enabled)
		return 0;
	if (check_path(ld, SEC_WEB, "root", cfg->web.root, true) < 0 ||
	    check_path(ld, SEC_WEB, "tls_cert", cfg->web.tls_cert, false) < 0 ||
	    check_path(ld, SEC_WEB, "tls_key", cfg->web.tls_key, false) < 0)
		return -1;
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
	if (load_password(ld) < 0 || load_mqtt_password(ld) < 0 || check_paths(ld) < 0 ||
	    load_abrp_gps(ld) < 0)
		return -1;
	if (cfg->mqtt.discovery && cfg->mqtt.discovery_prefix[0] == '\0') {
		loader_error(ld, key_line(ld, SEC_MQTT, "discovery_prefix"),
			     "discovery_prefix is empty while discovery is on");
		return -1;
	}
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
	char raw[1024];
	if (str_starts(ld->err, "environment "))
		snprintf(raw, sizeof(raw), "%s", ld->err);
	else if (line > 0)
		snprintf(raw, sizeof(raw), "%s:%d: %s", ld->name, line, ld->err);
	else
		snprintf(raw, sizeof(raw), "%s: %s", ld->name, ld->err);
	str_escape(err, errlen, raw); /* the file's bytes never reach a terminal raw */
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

/*
 * The whole config file. Only a regular file of at most CONFIG_FILE_MAX
 * bytes: a FIFO would block the check, a symlink to /dev/zero would never
 * end. NULL with errno (ENOENT as open said it) and, for a refused file,
 * *why.
 */
static char *
config_read(const char *path, size_t *len, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	char *text = NULL;

	*why = NULL;
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1)
		*why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		*why = "not a regular file";
	else if (st.st_size > CONFIG_FILE_MAX || (text = fd_read_str(fd, CONFIG_FILE_MAX, len)) ==
							  NULL)
		*why = errno == EFBIG || st.st_size > CONFIG_FILE_MAX ? "larger than 1 MiB"
								      : strerror(errno);
	close(fd);
	if (text == NULL)
		errno = EINVAL;
	return text;
}

/* Parse text (len bytes, NUL-terminated after them): the inih return code. */
static int
parse_text(struct loader *ld, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);

	if (nul != NULL) { /* inih would stop there and take "80\0junk" for 80 */
		int line = 1;
		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		loader_error(ld, line, "a NUL byte: this is not a text file");
		return 0;
	}
	ini_setup();
	struct line_reader r = {.text = text, .ld = ld};
	return ini_parse_stream(reader, &r, ini_cb, ld);
}

int
config_load(struct config *cfg, const char *path, bool allow_missing, char *err, size_t errlen)
{
	struct loader ld = {.cfg = cfg, .name = path ? path : "(defaults)"};
	const char *why;
	char raw[600];
	size_t len = 0;
	int rc = 0;

	config_defaults(cfg);
	if (path != NULL) {
		str_copy(cfg->path, path, sizeof(cfg->path));
		char *text = config_read(path, &len, &why);
		if (text == NULL && !(allow_missing && errno == ENOENT && why == NULL)) {
			snprintf(raw, sizeof(raw), "%s: %s", path, why ? why : strerror(errno));
			str_escape(err, errlen, raw);
			return -1;
		}
		if (text != NULL)
			rc = parse_text(&ld, text, len);
		else
			cfg->path[0] = '\0';
		free(text);
	}
	return finish(&ld, rc, err, errlen);
}

int
config_load_mem(struct config *cfg, const void *data, size_t len, const char *name, char *err,
		size_t errlen)
{
	struct loader ld = {.cfg = cfg, .name = name};
	char *text = malloc(len + 1);

	config_defaults(cfg);
	str_copy(cfg->path, name, sizeof(cfg->path));
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(text, data, len);
	text[len] = '\0';
	int rc = parse_text(&ld, text, len);
	free(text);
	return finish(&ld, rc, err, errlen);
}

int
config_load_string(struct config *cfg, const char *text, const char *name, char *err,
		   size_t errlen)
{
	return config_load_mem(cfg, text, strlen(text), name, err, errlen);
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
			config_value_dump(&b, cfg, &keys[i]);
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
		if (sec == SEC_MQTT && cfg->mqtt.password[0] != '\0')
			buf_printf(&b, "; password: set from %s (masked)\n", cfg->mqtt.password_origin);
		else if (sec == SEC_MQTT)
			buf_printf(&b, "; password: none\n");
		if (sec == SEC_ABRP && cfg->abrp.enabled)
			buf_printf(&b, "; token and api key: set (%zu and %zu characters, masked)\n",
				   strlen(cfg->abrp.token), strlen(cfg->abrp.api_key));
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
		bool str = config_key_is_string(keys[i].type);
		if (str ? strcmp(fa, fb) != 0 : memcmp(fa, fb, keys[i].size) != 0)
			mask |= 1u << keys[i].sec;
	}
	if (strcmp(a->influx.token, b->influx.token) != 0)
		mask |= 1u << SEC_INFLUX;
	if (strcmp(a->cloud.token, b->cloud.token) != 0)
		mask |= 1u << SEC_CLOUD;
	if (strcmp(a->web.password, b->web.password) != 0)
		mask |= 1u << SEC_WEB;
	if (strcmp(a->mqtt.password, b->mqtt.password) != 0)
		mask |= 1u << SEC_MQTT;
	if (strcmp(a->abrp.token, b->abrp.token) != 0 || strcmp(a->abrp.api_key, b->abrp.api_key) != 0)
		mask |= 1u << SEC_ABRP;
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
	const char *why;
	size_t len;
	char *text = config_read(path, &len, &why);

	config_defaults(cfg);
	ini_setup();
	if (text != NULL && memchr(text, '\0', len) == NULL)
		ini_parse_string(text, peek_cb, cfg);
	free(text);
}
