/*
 * Inside the config code (config.c, config_value.c): the key table's row
 * type and the typed parsing, checking and printing of one value.
 */
#ifndef LEAFMON_CONFIG_INT_H
#define LEAFMON_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

enum ktype {
	K_STR,
	K_INT,
	K_I64,
	K_BOOL,
	K_LEVEL,
	K_API,
	K_PREC,
	K_GEN,
	K_URL,
	K_PATH,
	K_SOURCE,
	K_ADDR,	 /* an IPv4 or IPv6 address literal */
	K_NAMES, /* host names, separated by commas or blanks */
	K_DBL,	 /* a number in [dmin, dmax] */
	K_PRICE, /* empty (NAN: not set) or a number >= 0 */
	K_TOU,	 /* the tariff's time-of-use windows (tariff.h), kept as a string */
	K_MQTT_URL, /* mqtt://host[:port] or mqtts://host[:port] */
	K_TOPIC,    /* an MQTT topic prefix: levels without '+', '#', NUL or blanks */
	K_GPS,	 /* empty, or gpsd:HOST:PORT (HOST an IP literal or localhost) */
	K_FIELDS, /* ABRP telemetry field names, separated by commas or blanks */
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

/* A type stored as a string field (char[size]). */
bool config_key_is_string(enum ktype t);
/* Index of v in names[0..n), or -1. */
int config_pick(const char *v, const char *const *names, int n);
/* Parse and check v as k's type into its field of cfg; 0, or -1 with err. */
int config_value_set(struct config *cfg, const struct key *k, const char *v, char *err,
		     size_t errlen);
/* k's field of cfg as the config file would spell it. */
void config_value_dump(struct buf *b, const struct config *cfg, const struct key *k);

#endif
