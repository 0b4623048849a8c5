/*
 * Session events as line protocol (see lp.h, DESIGN.md "Session
 * measurements"). The detail is read twice: once to check all of it and
 * find the charge_type tag (tags come before fields), once to write the
 * fields, so a malformed detail appends nothing.
 */
#include <stdio.h>
#include <string.h>

#include "json_flat.h"
#include "lp.h"
#include "spool_payload.h"

static const char *const kinds[] = {"trip", "charge", "park", "battery_daily"};

int
lp_dest(const uint8_t *payload, size_t len)
{
	return spool_payload_format(payload, len) == SPOOL_PAYLOAD_EVENT ? LP_DEST_SESSIONS
									 : LP_DEST_SAMPLES;
}

static bool
known_kind(const struct spool_event *e)
{
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		if (strlen(kinds[i]) == e->kind_len && memcmp(kinds[i], e->kind, e->kind_len) == 0)
			return true;
	return false;
}

static bool
key_is(const struct jf_member *m, const char *k)
{
	return m->key_len == strlen(k) && memcmp(m->key, k, m->key_len) == 0;
}

/* A string field's value: quotes and backslashes escaped, control
 * characters (a line protocol line cannot hold a newline) as '_'. */
static void
put_lp_string(struct buf *out, const struct buf *s)
{
	buf_putc(out, '"');
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->p[i];
		if (c == '"' || c == '\\')
			buf_putc(out, '\\');
		buf_putc(out, c < 0x20 || c == 0x7f ? '_' : (char)c);
	}
	buf_putc(out, '"');
}

/* Check the whole detail; the escaped charge_type tag into tag (may be ""). */
static int
check_detail(const struct spool_event *e, struct buf *tmp, char *tag, size_t tag_len,
	     char *why, size_t why_len)
{
	struct jf_iter it;
	struct jf_member m;
	int r;

	tag[0] = '\0';
	json_flat_init(&it, e->detail, e->detail_len);
	while ((r = json_flat_next(&it, &m)) == 1) {
		buf_reset(tmp);
		if (json_flat_unescape(m.key, m.key_len, tmp) < 0 ||
		    (m.type == JF_STRING && json_flat_unescape(m.val, m.val_len, tmp) < 0)) {
			snprintf(why, why_len, "detail: bad string escape near byte %zu",
				 (size_t)(m.key - e->detail));
			return -1;
		}
		if (key_is(&m, "charge_type") && m.type == JF_STRING) {
			buf_reset(tmp);
			json_flat_unescape(m.val, m.val_len, tmp);
			if (lp_escape_tag(tag, tag_len, buf_str(tmp)) < 0) {
				snprintf(why, why_len, "detail: charge_type too long");
				return -1;
			}
		}
	}
	if (r < 0) {
		snprintf(why, why_len, "detail is not valid JSON (byte %zu: %s)", it.err_at, it.err);
		return -1;
	}
	return 0;
}

/* One field; false when it is not written (null, nested). */
static bool
put_field(struct buf *out, const struct jf_member *m, struct buf *tmp, int nfields)
{
	char key[256];

	if (m->type == JF_NULL || m->type == JF_NESTED)
		return false;
	buf_reset(tmp);
	json_flat_unescape(m->key, m->key_len, tmp); /* checked before */
	if (lp_escape_tag(key, sizeof(key), buf_str(tmp)) <= 0)
		return false;
	buf_putc(out, nfields ? ',' : ' ');
	buf_puts(out, key);
	buf_putc(out, '=');
	switch (m->type) {
	case JF_NUMBER:
		buf_append(out, m->val, m->val_len);
		if (memchr(m->val, '.', m->val_len) == NULL && memchr(m->val, 'e', m->val_len) == NULL &&
		    memchr(m->val, 'E', m->val_len) == NULL)
			buf_puts(out, ".0"); /* always a float, as every other point's */
		break;
	case JF_BOOL:
		buf_puts(out, m->b ? "true" : "false");
		break;
	default:
		buf_reset(tmp);
		json_flat_unescape(m->val, m->val_len, tmp);
		put_lp_string(out, tmp);
		break;
	}
	return true;
}

static int
fields(struct buf *out, const struct spool_event *e, struct buf *tmp, struct lp_stats *st)
{
	struct jf_iter it;
	struct jf_member m;
	int n = 0;

	json_flat_init(&it, e->detail, e->detail_len);
	while (json_flat_next(&it, &m) == 1) {
		if (key_is(&m, "kind"))
			continue; /* the measurement */
		if (key_is(&m, "charge_type") && m.type == JF_STRING)
			continue; /* the tag */
		if (key_is(&m, "charge_type") || !put_field(out, &m, tmp, n)) {
			st->event_fields_skipped++;
			continue;
		}
		n++;
	}
	return n;
}

static int
drop(struct lp_stats *st, char *why, size_t why_len, const char *text)
{
	st->events_malformed++;
	if (text != NULL && why != NULL)
		snprintf(why, why_len, "%s", text);
	return -1;
}

int
lp_event(const struct lp_ctx *c, struct buf *out, int64_t t_ns, bool unsynced,
	 const uint8_t *payload, size_t len, size_t *ends, struct lp_stats *st, char *why,
	 size_t why_len)
{
	static const char *const phases[] = {"start", "update", "end"};
	char scratch[160], tag[200];
	struct spool_event e;
	struct buf tmp;

	if (why == NULL) {
		why = scratch;
		why_len = sizeof(scratch);
	}
	if (spool_event_decode(payload, len, &e) < 0)
		return drop(st, why, why_len, "the event record does not decode");
	if (!known_kind(&e))
		return drop(st, why, why_len, "unknown session kind");
	buf_init(&tmp);
	if (check_detail(&e, &tmp, tag, sizeof(tag), why, why_len) < 0) {
		buf_free(&tmp);
		return drop(st, NULL, 0, NULL);
	}
	buf_append(out, e.kind, e.kind_len);
	if (tag[0] != '\0') {
		buf_puts(out, ",charge_type=");
		buf_puts(out, tag);
	}
	buf_puts(out, c->tags);
	int n = fields(out, &e, &tmp, st);
	buf_free(&tmp);
	buf_printf(out, "%sphase=\"%s\"", n ? "," : " ", phases[e.phase]);
	if (unsynced)
		buf_puts(out, ",clock_unsynced=true");
	buf_printf(out, " %lld\n", (long long)lp_timestamp(c, t_ns + e.start_delta_ns));
	st->events++;
	if (ends != NULL)
		ends[0] = out->len;
	return 1;
}
