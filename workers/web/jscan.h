/*
 * A JSON pull tokenizer over a complete buffer (pure, no allocation): the
 * caller asks for one token at a time and keeps only what it needs, so a
 * large InfluxDB answer is never turned into a tree. The grammar is checked
 * (commas, colons, nesting up to JSCAN_MAX_DEPTH, number syntax, escapes).
 */
#ifndef LEAFMON_JSCAN_H
#define LEAFMON_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSCAN_MAX_DEPTH 32

enum jtok {
	JT_ERR = -1,
	JT_END = 0, /* the document is complete */
	JT_OBJ,
	JT_OBJ_END,
	JT_ARR,
	JT_ARR_END,
	JT_KEY,
	JT_STR,
	JT_NUM,
	JT_TRUE,
	JT_FALSE,
	JT_NULL,
};

struct jscan {
	const char *p, *end;
	int depth;
	char kind[JSCAN_MAX_DEPTH];	  /* '{' or '[' */
	unsigned count[JSCAN_MAX_DEPTH]; /* members seen at each level */
	bool after_key;			  /* in an object: key read, value next */
	bool done;			  /* the root value is complete */
	/* the last token */
	const char *s; /* JT_KEY / JT_STR: raw bytes between the quotes */
	size_t slen;
	double num; /* JT_NUM */
	const char *err;
};

void jscan_init(struct jscan *j, const char *buf, size_t len);
enum jtok jscan_next(struct jscan *j);
/* After JT_OBJ or JT_ARR: consume up to and including the matching end.
 * After a scalar: nothing to do. 0 or -1. */
int jscan_skip(struct jscan *j, enum jtok t);
/* The last string token unescaped into out (\uXXXX beyond ASCII becomes
 * '?'). -1 when it does not fit. */
int jscan_str(const struct jscan *j, char *out, size_t cap);
/* The last string token equals lit (no escapes in lit). */
bool jscan_is(const struct jscan *j, const char *lit);

#endif
