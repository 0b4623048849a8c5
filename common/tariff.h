/*
 * The electricity tariff of [tariff]: a price per kWh, time-of-use windows
 * by weekday and local hour, and the quick-charge prices. Pure apart from
 * the C library's time zone (localtime_r); the config check parses the
 * `tou` syntax with it and the session module prices charges with it.
 */
#ifndef LEAFMON_TARIFF_H
#define LEAFMON_TARIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TARIFF_WIN_MAX 16

/* One window: on the weekdays in `days` (bit 0 Sunday .. bit 6 Saturday,
 * as tm_wday) from start_min to end_min (minutes of the local day). A
 * window with end_min <= start_min crosses midnight: it begins on one of
 * its days and ends on the next morning. */
struct tariff_win {
	uint8_t days;
	int start_min, end_min;
	double price;
};

struct tariff {
	char currency[16];
	double price_kwh;      /* NAN: not set */
	double qc_price_kwh;   /* NAN: not set */
	double qc_price_min;   /* NAN: not set */
	double qc_session_fee; /* NAN: not set */
	int nwin;
	struct tariff_win win[TARIFF_WIN_MAX];
};

/* A tariff with no price at all (every price NAN). */
void tariff_init(struct tariff *t);
/*
 * Parse `tou`: windows separated by '|' (';' would start an INI comment),
 * each "DAYS [HH:MM-HH:MM] PRICE".
 * DAYS is a comma list of mon..sun, ranges (mon-fri, fri-mon) or '*' for
 * every day; no times means the whole day; 24:00 ends a day. The first
 * window that matches wins. Empty: no windows. 0, or -1 with err.
 */
int tariff_parse_tou(struct tariff *t, const char *s, char *err, size_t errlen);
/*
 * The AC price per kWh at t_ns (Unix ns) in local time: the first window
 * that holds, else price_kwh. -1 when neither gives a price. *until_ns is
 * when the answer may change (the next local minute: windows are given in
 * minutes, and local time is taken per instant, so DST is right).
 */
int tariff_price_at(const struct tariff *t, int64_t t_ns, double *price, int64_t *until_ns);
bool tariff_has_ac(const struct tariff *t);
bool tariff_has_qc(const struct tariff *t);

#endif
