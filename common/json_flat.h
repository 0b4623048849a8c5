/*
 * A reader of one flat JSON object (RFC 8259), such as a session's detail:
 * its members one by one, each with its raw text. Nested objects and arrays
 * are checked and reported as JF_NESTED. Strict: anything that is not one
 * well-formed object with only white space after it is an error with its
 * byte offset and a reason. Pure: no allocation but json_flat_unescape's.
 */
#ifndef LEAFMON_JSON_FLAT_H
#define LEAFMON_JSON_FLAT_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum jf_type { JF_STRING, JF_NUMBER, JF_BOOL, JF_NULL, JF_NESTED };

struct jf_member {
	const char *key; /* raw, between the quotes (escapes not decoded) */
	size_t key_len;
	enum jf_type type;
	const char *val; /* raw: a string between its quotes, a number as written */
	size_t val_len;
	bool b; /* JF_BOOL */
};

struct jf_iter {
	const char *s, *p, *end;
	int state; /* 0 before '{', 1 in the object, 2 done */
	const char *err; /* why it failed (static text) */
	size_t err_at;	 /* byte offset */
};

void json_flat_init(struct jf_iter *it, const char *s, size_t len);
/* 1: *m is the next member; 0: the object ended; -1: malformed (it->err). */
int json_flat_next(struct jf_iter *it, struct jf_member *m);
/* Append a raw string's decoded UTF-8 to out; -1 on a bad escape or a lone
 * surrogate. */
int json_flat_unescape(const char *raw, size_t len, struct buf *out);

#endif
