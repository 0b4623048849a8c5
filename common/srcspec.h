/*
 * CAN source specifications: "socketcan:can0@ev", "slcan:/dev/ttyACM0,
 * bitrate=500000@car", "replay:FILE,speed=2,loop,keep_time",
 * "sim[,scenario=day][,lbc=answer|nrc|silent]". Parsed
 * once here for the config check and the can worker alike.
 */
#ifndef LEAFMON_SRCSPEC_H
#define LEAFMON_SRCSPEC_H

#include <stdbool.h>
#include <stddef.h>

#define SRC_MAX 8

enum src_kind { SRC_SOCKETCAN, SRC_SLCAN, SRC_REPLAY, SRC_SIM };

struct src_spec {
	enum src_kind kind;
	int bus;	  /* enum can_bus */
	char path[256];	  /* interface, tty or file; empty for sim */
	double speed;	  /* replay: 1.0 real time, 0 as fast as possible */
	bool loop;	  /* replay: start again at the end */
	bool keep_time;	  /* replay: keep the log's absolute times */
	long bitrate;	  /* slcan: bus bitrate (500000) */
	char format[16];  /* replay: forced log format, empty = auto */
	int scenario;	  /* sim: 0 the ten-minute cycle, 1 the day (scenario=day) */
	int lbc;	  /* sim: how its LBC answers polls: 0 answer, 1 nrc, 2 silent */
};

/* Parse a comma-separated list: "A@ev, B@car". Items are separated by ","
 * followed by a known kind prefix; options follow the item after ",". */
int srcspec_parse_list(const char *s, struct src_spec *out, int max, int *n, char *err,
		       size_t errlen);
int srcspec_parse(const char *s, struct src_spec *out, char *err, size_t errlen);
const char *srcspec_kind_name(enum src_kind k);

#endif
