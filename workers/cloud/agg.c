/*
 * The resolution aggregator (see agg.h). Fields come out in signal id
 * order, min and max after the value, so the same bucket always gives the
 * same bytes.
 */
#include "agg.h"

#include <string.h>

#include "util.h"

static bool
has_min_max(unsigned id)
{
	return id == SIG_battery_power_kw || id == SIG_battery_current_a;
}

static int64_t
bucket_of(const struct agg *a, int64_t t)
{
	int64_t q = t / a->res_ns;
	if (t % a->res_ns != 0 && t < 0)
		q--;
	return q * a->res_ns;
}

void
agg_init(struct agg *a, int64_t res_ns)
{
	memset(a, 0, sizeof(*a));
	a->res_ns = res_ns > 0 ? res_ns : 0;
}

void
agg_resume(struct agg *a, const struct agg_mark *m)
{
	a->resume = m->prov;
	a->resume_t = m->prov_t_ns;
	a->resume_rid = m->prov_rid;
}

bool
agg_is_open(const struct agg *a)
{
	return a->open;
}

/* Which earlier record a record of bucket t replaces, if any. */
static void
set_supersede(struct agg *a, int64_t t, struct agg_out *out)
{
	out->supersede = false;
	if (a->prov) {
		out->supersede = true;
		out->supersede_rid = a->prov_rid;
	} else if (a->resume && a->resume_t == t) {
		out->supersede = true;
		out->supersede_rid = a->resume_rid;
	}
	a->resume = false; /* the first bucket after a restart settles it */
	a->st.superseded += out->supersede;
}

/* The open bucket as a record; false when nothing in it is publishable. */
static bool
bucket_record(struct agg *a, struct agg_out *out)
{
	out->n = 0;
	for (unsigned id = 0; id < SIG_ID_MAX; id++) {
		const struct agg_slot *s = &a->slot[id];
		if (!s->have)
			continue;
		out->v[out->n++] =
		    (struct spool_value){.id = (uint16_t)id, .kind = SPK_VALUE, .v = s->last};
		if (has_min_max(id)) {
			out->v[out->n++] =
			    (struct spool_value){.id = (uint16_t)id, .kind = SPK_MIN, .v = s->min};
			out->v[out->n++] =
			    (struct spool_value){.id = (uint16_t)id, .kind = SPK_MAX, .v = s->max};
		}
	}
	/* the newest sample's clocks, moved back to the bucket's start */
	out->m.t_ns = a->bucket_t;
	out->m.boot_ns = a->last_m.boot_ns - (a->last_m.t_ns - a->bucket_t);
	out->m.synced = a->last_m.synced;
	return out->n > 0;
}

/* Close the open bucket: 1 with *out when it needs a record. */
static int
close_bucket(struct agg *a, struct agg_out *out)
{
	if (!a->open)
		return 0;
	a->open = false;
	bool need = !a->prov || a->dirty; /* an untouched provisional record stands */
	if (!need || !bucket_record(a, out)) {
		a->prov = false;
		return 0;
	}
	out->provisional = false;
	set_supersede(a, a->bucket_t, out);
	a->prov = false;
	a->st.records++;
	return 1;
}

static void
open_bucket(struct agg *a, const struct agg_sample *s, int64_t b)
{
	memset(a->slot, 0, sizeof(a->slot));
	a->open = true;
	a->bucket_t = b;
	a->gen = s->gen;
	a->first_seq = s->seq;
	a->dirty = false;
	a->prov = false;
}

static void
fold(struct agg *a, const struct agg_sample *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct sig_info *si = sig_by_id(s->ids[i]);
		if (!sig_published(si)) {
			a->st.values_skipped++;
			continue;
		}
		struct agg_slot *sl = &a->slot[si->id];
		double v = s->values[i];
		if (!sl->have || v < sl->min)
			sl->min = v;
		if (!sl->have || v > sl->max)
			sl->max = v;
		sl->last = v;
		sl->have = true;
		a->st.values++;
		a->dirty = true;
	}
}

/* Resolution 0: the sample itself, its published values in its order. */
static int
pass_through(struct agg *a, const struct agg_sample *s, struct agg_out *out)
{
	out->n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct sig_info *si = sig_by_id(s->ids[i]);
		if (!sig_published(si)) {
			a->st.values_skipped++;
			continue;
		}
		out->v[out->n++] =
		    (struct spool_value){.id = si->id, .kind = SPK_VALUE, .v = s->values[i]};
		a->st.values++;
	}
	out->m = s->m;
	out->provisional = out->supersede = false;
	if (out->n == 0)
		return 0;
	a->st.records++;
	return 1;
}

int
agg_add(struct agg *a, const struct agg_sample *s, struct agg_out *out)
{
	int rc = 0;
	a->st.samples++;
	a->taken = true;
	a->last_seq = s->seq;
	if (a->res_ns == 0) {
		a->gen = s->gen;
		return pass_through(a, s, out);
	}
	int64_t b = bucket_of(a, s->m.t_ns);
	if (a->open && (b != a->bucket_t || s->gen != a->gen)) {
		if (b < a->bucket_t && s->gen == a->gen)
			a->st.out_of_order++;
		rc = close_bucket(a, out);
	}
	if (!a->open)
		open_bucket(a, s, b);
	a->last_m = s->m;
	fold(a, s);
	return rc;
}

int
agg_flush(struct agg *a, struct agg_out *out)
{
	if (!a->open || !a->dirty || !bucket_record(a, out))
		return 0;
	out->provisional = true;
	set_supersede(a, a->bucket_t, out);
	a->dirty = false;
	a->st.provisional++;
	return 1;
}

void
agg_emitted(struct agg *a, uint64_t rid)
{
	a->prov = true;
	a->prov_rid = rid;
}

void
agg_checkpoint(const struct agg *a, struct agg_mark *m)
{
	memset(m, 0, sizeof(*m));
	m->gen = a->gen;
	m->seq = a->open ? a->first_seq - 1 : a->last_seq;
	if (a->open && a->prov) {
		m->prov = true;
		m->prov_t_ns = a->bucket_t;
		m->prov_rid = a->prov_rid;
	} else if (a->resume) {
		m->prov = true;
		m->prov_t_ns = a->resume_t;
		m->prov_rid = a->resume_rid;
	}
}

void
agg_mark_encode(uint8_t out[AGG_MARK_LEN], const struct agg_mark *m)
{
	out[0] = 'C';
	out[1] = '1';
	le64_put(out + 2, m->gen);
	le64_put(out + 10, m->seq);
	out[18] = m->prov ? 1 : 0;
	le64_put(out + 19, (uint64_t)m->prov_t_ns);
	le64_put(out + 27, m->prov_rid);
}

int
agg_mark_decode(const uint8_t *in, size_t len, struct agg_mark *m)
{
	if (len != AGG_MARK_LEN || in[0] != 'C' || in[1] != '1' || in[18] > 1)
		return -1;
	m->gen = le64_get(in + 2);
	m->seq = le64_get(in + 10);
	m->prov = in[18] == 1;
	m->prov_t_ns = (int64_t)le64_get(in + 19);
	m->prov_rid = le64_get(in + 27);
	return 0;
}
