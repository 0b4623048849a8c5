/*
 * A streaming JSON writer into a struct buf. Keys are given inside objects
 * and NULL inside arrays; commas are placed by the writer.
 */
#ifndef LEAFMON_JSON_H
#define LEAFMON_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define JSON_MAX_DEPTH 32

struct json {
	struct buf *b;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	int err;
};

void json_init(struct json *j, struct buf *b);
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *s);
void json_int(struct json *j, const char *key, int64_t v);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_dbl(struct json *j, const char *key, double v); /* non-finite -> null */
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
void json_raw(struct json *j, const char *key, const char *raw); /* pre-formatted value */
/* Append s as a JSON string literal (with quotes) to b. */
void json_escape(struct buf *b, const char *s);

#endif
