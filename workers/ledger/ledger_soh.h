/*
 * The battery check: do a battery_daily's SOH sources agree? Pure (no I/O);
 * the ledger worker raises alert soh_disagree from it. The sources, each as
 * a percentage of a new pack (docs/DESIGN.md "Ledger"):
 *   - soh_pct, the battery controller's own SOH (0x5BC);
 *   - hx_pct, Hx from LeafSpy's replies or our polling;
 *   - ah, the polled AHr, over the new pack's Ah;
 *   - capacity_ah, the Ah measured over the day's sessions spanning 30 % of
 *     SOC or more, over the new pack's Ah.
 * The pack (24, 30, 40 or 62 kWh) is the one whose new full-capacity GIDs
 * are nearest the day's gids_full scaled up by soh_pct (the classes lie 25 %
 * or more apart, so a wrong SOH cannot pick a wrong pack unless it is wrong
 * by more than that). Without gids_full the Ah sources are left out.
 */
#ifndef LEAFMON_LEDGER_SOH_H
#define LEAFMON_LEDGER_SOH_H

#include <stdbool.h>

#include "ledger_db.h"

#define SOH_SOURCES 4

struct soh_result {
	int n; /* sources present */
	double value[SOH_SOURCES];
	const char *name[SOH_SOURCES];
	double spread; /* max - min, percentage points */
	int pack;      /* index into the pack table, -1 unknown */
	const char *pack_name;
	double pack_ah; /* a new pack's Ah */
};

/* 0 with the sources in r, -1 when fewer than two are known. */
int soh_sources(const struct ldb_daily *d, struct soh_result *r);
/* The alert's text: which day, the spread, each source. */
void soh_text(const struct ldb_daily *d, const struct soh_result *r, double limit, char *buf,
	      size_t len);

#endif
