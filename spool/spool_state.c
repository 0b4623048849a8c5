/*
 * State file codec. One item per line ("acked FROM TO", "anchor BOOT OFFSET
 * BOOT_NS", "<ledger key> VALUE"), then "crc HEX" over everything before it.
 * Unknown keys are ignored so a newer leafmon's additions do not break an
 * older reader; a newer major version is refused.
 */
#include "spool_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAGIC "leafmon-spool-state"

struct lkey {
	const char *name;
	size_t off;
	bool is_int; /* int (last_error_code) rather than 64-bit */
};

#define L(f) offsetof(struct spool_ledger, f)
static const struct lkey lkeys[] = {
    {"last_success", L(last_success), false},	  {"last_contact", L(last_contact), false},
    {"last_error_code", L(last_error_code), true}, {"last_error_at", L(last_error_at), false},
    {"delivered", L(delivered), false},		  {"dead_lettered", L(dead_lettered), false},
    {"dropped_cap", L(dropped_cap), false},	  {"dropped_mem", L(dropped_mem), false},
    {"dropped_policy", L(dropped_policy), false}, {"corrupt", L(corrupt), false},
    {"torn", L(torn), false},			  {"torn_bytes", L(torn_bytes), false},
    {"sent_bytes_today", L(sent_bytes_today), false}, {"sent_day", L(sent_day), false},
};

void
spool_state_encode(const struct spool_state *s, struct buf *out)
{
	char boot[37];
	size_t start = out->len;

	buf_printf(out, "%s %d\n", MAGIC, SPOOL_STATE_VERSION);
	for (size_t i = 0; i < s->acked.n; i++)
		buf_printf(out, "acked %" PRIu64 " %" PRIu64 "\n", s->acked.r[i][0], s->acked.r[i][1]);
	for (size_t i = 0; i < s->nanchors; i++) {
		spool_fmt_boot_id_format(s->anchors[i].boot_id, boot);
		buf_printf(out, "anchor %s %" PRId64 " %" PRId64 "\n", boot, s->anchors[i].offset_ns,
			   s->anchors[i].boot_ns_at_sync);
	}
	for (size_t i = 0; i < ARRAY_LEN(lkeys); i++) {
		const char *p = (const char *)&s->ledger + lkeys[i].off;
		if (lkeys[i].is_int)
			buf_printf(out, "%s %d\n", lkeys[i].name, *(const int *)p);
		else
			buf_printf(out, "%s %" PRId64 "\n", lkeys[i].name, *(const int64_t *)p);
	}
	/* the text is ours: control characters were replaced when it was set */
	buf_printf(out, "last_error_text %s\n", s->ledger.last_error_text);
	uLong crc = crc32(0, (const Bytef *)out->p + start, (uInt)(out->len - start));
	buf_printf(out, "crc %08lx\n", (unsigned long)crc);
}

void
spool_state_anchor(struct spool_state *s, const struct spool_anchor *a)
{
	for (size_t i = 0; i < s->nanchors; i++)
		if (memcmp(s->anchors[i].boot_id, a->boot_id, 16) == 0) {
			s->anchors[i] = *a;
			return;
		}
	if (s->nanchors == SPOOL_ANCHORS_MAX) {
		memmove(&s->anchors[0], &s->anchors[1], (SPOOL_ANCHORS_MAX - 1) * sizeof(*a));
		s->nanchors--;
	}
	s->anchors[s->nanchors++] = *a;
}

static int
ledger_line(struct spool_ledger *l, const char *key, const char *val)
{
	if (strcmp(key, "last_error_text") == 0) {
		snprintf(l->last_error_text, sizeof(l->last_error_text), "%s", val);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(lkeys); i++) {
		if (strcmp(key, lkeys[i].name) != 0)
			continue;
		int64_t v;
		if (parse_i64(val, INT64_MIN, INT64_MAX, &v) < 0)
			return -1;
		char *p = (char *)l + lkeys[i].off;
		if (lkeys[i].is_int)
			*(int *)p = (int)v;
		else
			*(int64_t *)p = v;
		return 0;
	}
	return 0; /* unknown: a newer minor addition */
}

static int
body_line(struct spool_state *s, char *line)
{
	char *val = strchr(line, ' ');
	char *key = line;
	if (val == NULL)
		return strcmp(key, "last_error_text") == 0 ? 0 : -1;
	*val++ = '\0';
	if (strcmp(key, "acked") == 0) {
		unsigned long long f, t;
		char extra;
		if (sscanf(val, "%llu %llu%c", &f, &t, &extra) != 2 || f > t)
			return -1;
		return ackset_add(&s->acked, f, t);
	}
	if (strcmp(key, "anchor") == 0) {
		struct spool_anchor a;
		char boot[64];
		long long off, bns;
		if (sscanf(val, "%63s %lld %lld", boot, &off, &bns) != 3 ||
		    spool_fmt_boot_id_parse(boot, a.boot_id) < 0)
			return -1;
		a.offset_ns = off;
		a.boot_ns_at_sync = bns;
		spool_state_anchor(s, &a);
		return 0;
	}
	return ledger_line(&s->ledger, key, val);
}

static int
check_crc(const char *text, char *why, size_t whylen, size_t *body_len)
{
	const char *c = strstr(text, "\ncrc ");
	unsigned long want;
	if (c == NULL || sscanf(c + 5, "%8lx", &want) != 1) {
		snprintf(why, whylen, "no crc line (truncated?)");
		return -1;
	}
	*body_len = (size_t)(c - text) + 1;
	if ((unsigned long)crc32(0, (const Bytef *)text, (uInt)*body_len) != want) {
		snprintf(why, whylen, "crc mismatch");
		return -1;
	}
	return 0;
}

int
spool_state_decode(const char *text, struct spool_state *s, char *why, size_t whylen)
{
	size_t body_len;
	int version;

	ackset_clear(&s->acked);
	memset(&s->ledger, 0, sizeof(s->ledger));
	s->nanchors = 0;
	if (sscanf(text, MAGIC " %d", &version) != 1) {
		snprintf(why, whylen, "not a spool state file");
		return -1;
	}
	if (version > SPOOL_STATE_VERSION) {
		snprintf(why, whylen, "state version %d is newer than this leafmon (%d)", version,
			 SPOOL_STATE_VERSION);
		return -1;
	}
	if (check_crc(text, why, whylen, &body_len) < 0)
		return -1;
	char *copy = strndup(text, body_len);
	if (copy == NULL) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return -1;
	}
	int rc = 0, lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (++lineno == 1)
			continue;
		if (body_line(s, line) < 0) {
			snprintf(why, whylen, "line %d malformed", lineno);
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}
