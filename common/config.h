/*
 * The configuration: one INI file (libinih), then the original system's
 * environment variables. Every key is in the table in config.c; an unknown
 * key or a bad value is a "file:line: reason" error (exit 78 by the caller).
 */
#ifndef LEAFMON_CONFIG_H
#define LEAFMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srcspec.h"
#include "tariff.h"

#define EX_CONFIG_ERR 78 /* sysexits EX_CONFIG: do not restart */

enum cfg_section {
	SEC_SUPERVISOR, SEC_CAN, SEC_INFLUX, SEC_CLOUD, SEC_WEB, SEC_LEDGER, SEC_TARIFF, SEC_MQTT,
	SEC_GPS, SEC_ABRP, SEC_COUNT
};
enum cfg_api { API_AUTO, API_V1, API_V2 };
enum cfg_precision { PREC_NS, PREC_US, PREC_MS, PREC_S };
#define CFG_GEN_AUTO (-1) /* else 0 ZE0, 1 AZE0, 2 ZE1 (vehicle_generation) */

struct cfg_writer {
	bool enabled;
	char url[256];
	int api;
	char database[128];
	char retention_policy[128];
	char session_rp[128]; /* v1: sessions' retention policy ("" : retention_policy) */
	char org[128];
	char bucket[128];
	char session_bucket[128]; /* v2: sessions' bucket */
	char token_file[256];
	char ca_file[256];
	int precision;
	int spool_max_mb;
	int timeout_s;
	int batch_lines;
	int unsynced_hold_s; /* wait this long for the clock to sync (DESIGN.md "Time") */
	/* cloud only */
	int resolution_ms;
	int sync_interval_s;
	int64_t max_bytes_per_5min;
	int retention_days;
	bool gzip;	     /* Content-Encoding: gzip */
	int ping_timeout_s;  /* the /ping probe's own timeout */
	int pacing_window_s; /* max_bytes_per_5min applies per this window (300; tests shorten it) */
	/* loaded, not keys */
	char token[1024];
	char token_origin[300]; /* "file PATH" or "environment INFLUX_TOKEN" */
};

struct config {
	char path[256]; /* the file it came from ("" when none) */
	struct {
		char rundir[256];
		char statedir[256];
		char vehicle[128];
		int log_level;
		int restart_min_ms;
		int restart_max_ms;
		int failed_after;
		int failed_window_s;
		int failed_retry_s;
		int heartbeat_timeout_s;
		int stop_timeout_s;
		int journal_mb;
		char worker_dir[256];
	} sup;
	struct {
		char source[1024];
		int publish_interval_ms;
		int keyframe_s; /* every fresh value at least this often; 0: off */
		int generation;
		int asleep_after_s;
		int read_batch_ms; /* read cadence while frames come; 0: as they come */
		bool record;
		int record_max_mb;
		bool poll_cells;
		int poll_interval_s; /* at most one poll cycle this often */
		/* parsed from source */
		struct src_spec src[SRC_MAX];
		int nsrc;
	} can;
	struct cfg_writer influx;
	struct cfg_writer cloud;
	struct {
		bool enabled;
		char bind[64];
		int port;
		char root[256];
		char password_file[256];
		char tls_cert[256];
		char tls_key[256];
		int history_ring_hours;
		int max_clients;
		int max_per_ip;
		int session_days;
		char server_name[512]; /* host names of this server, comma/blank separated */
		/* loaded */
		char password[256];
	} web;
	struct {
		bool enabled;		/* trips, charges, parks, battery_daily */
		int trip_end_s;		/* in P or not ready this long: the trip is over */
		double min_trip_km;	/* shorter trips are "moves" */
		double ac_efficiency;	/* grid = pack / this, when the car does not say */
		double soh_disagree_pct; /* alert when the SOH sources differ by more */
	} ledger;
	struct {
		bool enabled;
		char url[256];		 /* mqtt://host[:1883] or mqtts://host[:8883] */
		char username[128];
		char password_file[256];
		char ca_file[256];	 /* mqtts: empty = the system's CAs */
		char client_id[128];	 /* empty: leafmon-<vehicle> */
		char topic_prefix[128];	 /* empty: leafmon/<vehicle> */
		int qos;
		int publish_interval_ms; /* the last value per signal per interval */
		bool discovery;		 /* Home Assistant MQTT discovery */
		char discovery_prefix[128];
		/* loaded */
		char password[256];
		char password_origin[300]; /* "file PATH" or "environment MQTT_PASSWORD" */
	} mqtt;
	/* prices (NAN: not set), currency; tou into tariff.win (parsed) */
	struct tariff tariff;
	char tou[1024];
	struct {
		char source[128]; /* "gpsd:HOST:PORT", empty: off */
		/* parsed from source */
		char host[64];
		char port[8];
	} gps;
	struct {
		bool enabled;
		char token_file[256];	/* the user's ABRP car token */
		char api_key_file[256]; /* the application key ABRP issues */
		char url[256];
		char fields[512];	/* tlm fields to send, comma separated; empty: all */
		bool send_location;	/* lat, lon, elevation, heading (needs [gps]) */
		/* loaded, not keys */
		char token[256];
		char api_key[256];
	} abrp;
	/* warnings found while loading (permissions); one per line */
	char warnings[1024];
};

/*
 * Load defaults, then path (NULL or a missing file with allow_missing: only
 * defaults), then the environment. On error, err holds "file:line: reason"
 * and -1 is returned.
 */
int config_load(struct config *cfg, const char *path, bool allow_missing, char *err,
		size_t errlen);
/* Parse from memory (tests, fuzzing; NUL bytes are an error); name is used
 * in messages. */
int config_load_mem(struct config *cfg, const void *data, size_t len, const char *name, char *err,
		    size_t errlen);
int config_load_string(struct config *cfg, const char *text, const char *name, char *err,
		       size_t errlen);
void config_defaults(struct config *cfg);
/* The effective config as INI text, secrets masked. Caller frees. */
char *config_dump(const struct config *cfg);
/* Bitmask (1 << SEC_x) of the sections whose values differ. */
unsigned config_diff(const struct config *a, const struct config *b);
/* Defaults plus only [supervisor] rundir and statedir from a file that may
 * not parse: lets the CLI find a running leafmond after a bad edit. */
void config_peek_dirs(struct config *cfg, const char *path);
/* The config path to use: -c, $LEAFMON_CONFIG, /etc/leafmon/leafmon.conf */
const char *config_default_path(const char *opt);
const char *config_precision_name(int prec, int api);
/*
 * [gps] source: "" (off) or gpsd:HOST:PORT, HOST an IPv4 literal, an [IPv6]
 * literal or localhost (no name lookups in the can worker's loop). 0 with
 * host and port filled (empty for ""), or -1 with why.
 */
int config_gps_parse(const char *v, char *host, size_t hostlen, char *port, size_t portlen,
		     char *why, size_t whylen);
/* The telemetry fields [abrp] fields may name (utc and soc always go). */
extern const char *const config_abrp_fields[];
extern const size_t config_abrp_nfields;

/* Where leafmond looks for leafmon-<worker> unless worker_dir says otherwise. */
const char *config_builtin_worker_dir(void);

#endif
