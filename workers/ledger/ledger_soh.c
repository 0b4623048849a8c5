/*
 * The battery check (see ledger_soh.h).
 */
#include "ledger_soh.h"

#include <math.h>
#include <stdio.h>

/* New packs: full-capacity GIDs (shared/LEAF-CAN.md, 0x5BC) and Ah (the
 * figures LeafSpy shows for a new pack; LEAF-CAN.md's e+ 162 Ah of ~176). */
static const struct {
	const char *name;
	double gids, ah;
} packs[] = {
    {"24 kWh", 281, 66.2},
    {"30 kWh", 356, 79.0},
    {"40 kWh", 502, 115.0},
    {"62 kWh", 775, 176.0},
};

static int
pack_of(const struct ldb_daily *d)
{
	double g = d->gids_full, best = INFINITY;
	int k = -1;
	if (!isfinite(g) || g <= 0)
		return -1;
	if (isfinite(d->soh_pct) && d->soh_pct >= 30 && d->soh_pct <= 120)
		g /= d->soh_pct / 100;
	for (int i = 0; i < (int)(sizeof(packs) / sizeof(packs[0])); i++) {
		double dist = fabs(log(g / packs[i].gids));
		if (dist < best) {
			best = dist;
			k = i;
		}
	}
	return k;
}

static void
add(struct soh_result *r, const char *name, double v)
{
	if (isfinite(v) && v > 0 && v < 200) {
		r->name[r->n] = name;
		r->value[r->n++] = v;
	}
}

int
soh_sources(const struct ldb_daily *d, struct soh_result *r)
{
	*r = (struct soh_result){.pack = pack_of(d)};
	add(r, "soh_pct", d->soh_pct);
	add(r, "hx_pct", d->hx_pct);
	if (r->pack >= 0) {
		r->pack_name = packs[r->pack].name;
		r->pack_ah = packs[r->pack].ah;
		add(r, "ah", d->ah / r->pack_ah * 100);
		add(r, "capacity_ah", d->capacity_ah / r->pack_ah * 100);
	}
	if (r->n < 2)
		return -1;
	double lo = r->value[0], hi = r->value[0];
	for (int i = 1; i < r->n; i++) {
		lo = fmin(lo, r->value[i]);
		hi = fmax(hi, r->value[i]);
	}
	r->spread = hi - lo;
	return 0;
}

void
soh_text(const struct ldb_daily *d, const struct soh_result *r, double limit, char *buf, size_t len)
{
	int n =
	    snprintf(buf, len, "battery %s: the SOH sources differ by %.1f points (more than %g):",
		     d->date[0] ? d->date : "?", r->spread, limit);
	for (int i = 0; i < r->n && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, "%s %s %.1f %%", i ? "," : "", r->name[i],
			      r->value[i]);
	if (r->pack_name != NULL && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " (Ah of a new %s pack: %.1f)", r->pack_name,
			 r->pack_ah);
}
