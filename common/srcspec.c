/*
 * Source specification parser. The list separator is the comma, which also
 * separates an item's options, so a new item starts at a comma followed by
 * a kind prefix ("socketcan:", "slcan:", "replay:", "sim").
 */
#include "srcspec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canframe.h"
#include "util.h"

static const char *const kind_names[] = {"socketcan", "slcan", "replay", "sim"};

const char *
srcspec_kind_name(enum src_kind k)
{
	return (unsigned)k < ARRAY_LEN(kind_names) ? kind_names[k] : "?";
}

static int
bus_parse(const char *s)
{
	for (int b = 0; b < BUS_COUNT; b++)
		if (strcmp(s, can_bus_name((unsigned)b)) == 0)
			return b;
	return -1;
}

static int
opt_apply(struct src_spec *sp, const char *opt, char *err, size_t errlen)
{
	const char *eq = strchr(opt, '=');
	size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
	const char *val = eq ? eq + 1 : NULL;
	int64_t iv;
	double dv;

#define KEY(k) (klen == strlen(k) && strncmp(opt, k, klen) == 0)
	if (sp->kind == SRC_REPLAY && KEY("speed") && val != NULL) {
		if (parse_double(val, &dv) < 0 || dv < 0 || dv > 10000) {
			snprintf(err, errlen, "replay speed '%s' is not a number from 0 to 10000",
				 val);
			return -1;
		}
		sp->speed = dv;
	} else if (sp->kind == SRC_REPLAY && KEY("loop") && val == NULL) {
		sp->loop = true;
	} else if (sp->kind == SRC_REPLAY && KEY("keep_time") && val == NULL) {
		sp->keep_time = true;
	} else if (sp->kind == SRC_REPLAY && KEY("format") && val != NULL) {
		if (str_copy(sp->format, val, sizeof(sp->format)) < 0) {
			snprintf(err, errlen, "replay format '%s' is too long", val);
			return -1;
		}
	} else if (sp->kind == SRC_SIM && KEY("scenario") && val != NULL) {
		if (strcmp(val, "cycle") != 0 && strcmp(val, "day") != 0) {
			snprintf(err, errlen, "sim scenario '%s' is not cycle or day", val);
			return -1;
		}
		sp->scenario = strcmp(val, "day") == 0;
	} else if (sp->kind == SRC_SIM && KEY("lbc") && val != NULL) {
		static const char *const modes[] = {"answer", "nrc", "silent"};
		sp->lbc = -1;
		for (int i = 0; i < (int)ARRAY_LEN(modes); i++)
			if (strcmp(val, modes[i]) == 0)
				sp->lbc = i;
		if (sp->lbc < 0) {
			snprintf(err, errlen, "sim lbc '%s' is not answer, nrc or silent", val);
			return -1;
		}
	} else if (sp->kind == SRC_SLCAN && KEY("bitrate") && val != NULL) {
		if (parse_i64(val, 10000, 1000000, &iv) < 0) {
			snprintf(err, errlen, "slcan bitrate '%s' is not 10000..1000000", val);
			return -1;
		}
		sp->bitrate = (long)iv;
	} else {
		snprintf(err, errlen, "unknown option '%s' for a %s source", opt,
			 srcspec_kind_name(sp->kind));
		return -1;
	}
#undef KEY
	return 0;
}

int
srcspec_parse(const char *s, struct src_spec *sp, char *err, size_t errlen)
{
	char tmp[512];

	memset(sp, 0, sizeof(*sp));
	sp->bus = BUS_EV;
	sp->speed = 1.0;
	sp->bitrate = 500000;
	while (isspace((unsigned char)*s))
		s++;
	if (str_copy(tmp, s, sizeof(tmp)) < 0) {
		snprintf(err, errlen, "source too long");
		return -1;
	}
	for (size_t n = strlen(tmp); n > 0 && isspace((unsigned char)tmp[n - 1]); n--)
		tmp[n - 1] = '\0';

	char *at = strrchr(tmp, '@');
	if (at != NULL) {
		int b = bus_parse(at + 1);
		if (b < 0) {
			snprintf(err, errlen, "unknown bus '@%s' (ev, car, qc or av)", at + 1);
			return -1;
		}
		sp->bus = b;
		*at = '\0';
	}
	char *rest;
	if (strcmp(tmp, "sim") == 0 || str_starts(tmp, "sim,")) {
		sp->kind = SRC_SIM;
		rest = tmp + 3;
		char *save = NULL;
		for (char *opt = strtok_r(rest, ",", &save); opt != NULL;
		     opt = strtok_r(NULL, ",", &save))
			if (opt_apply(sp, opt, err, errlen) < 0)
				return -1;
		return 0;
	} else if (str_starts(tmp, "socketcan:")) {
		sp->kind = SRC_SOCKETCAN;
		rest = tmp + strlen("socketcan:");
	} else if (str_starts(tmp, "slcan:")) {
		sp->kind = SRC_SLCAN;
		rest = tmp + strlen("slcan:");
	} else if (str_starts(tmp, "replay:")) {
		sp->kind = SRC_REPLAY;
		rest = tmp + strlen("replay:");
	} else {
		snprintf(err, errlen,
			 "unknown source '%s' (socketcan:IFACE, slcan:TTY, replay:FILE or sim)",
			 tmp);
		return -1;
	}
	char *save = NULL;
	char *path = strtok_r(rest, ",", &save);
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "%s source needs a %s", srcspec_kind_name(sp->kind),
			 sp->kind == SRC_SOCKETCAN ? "interface name" : "path");
		return -1;
	}
	if (sp->kind == SRC_SOCKETCAN && strlen(path) >= 16) {
		snprintf(err, errlen, "interface name '%s' is longer than 15 characters", path);
		return -1;
	}
	if (str_copy(sp->path, path, sizeof(sp->path)) < 0) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	for (char *opt; (opt = strtok_r(NULL, ",", &save)) != NULL;)
		if (opt_apply(sp, opt, err, errlen) < 0)
			return -1;
	return 0;
}

static bool
item_start(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return str_starts(p, "socketcan:") || str_starts(p, "slcan:") || str_starts(p, "replay:") ||
	       strncmp(p, "sim", 3) == 0;
}

int
srcspec_parse_list(const char *s, struct src_spec *out, int max, int *n, char *err, size_t errlen)
{
	char item[512];
	const char *start = s;

	*n = 0;
	for (const char *p = s;; p++) {
		if (*p != '\0' && !(*p == ',' && item_start(p + 1)))
			continue;
		size_t len = (size_t)(p - start);
		if (len >= sizeof(item)) {
			snprintf(err, errlen, "source item too long");
			return -1;
		}
		memcpy(item, start, len);
		item[len] = '\0';
		if (*n >= max) {
			snprintf(err, errlen, "more than %d sources", max);
			return -1;
		}
		if (srcspec_parse(item, &out[*n], err, errlen) < 0)
			return -1;
		(*n)++;
		if (*p == '\0')
			break;
		start = p + 1;
	}
	return 0;
}
