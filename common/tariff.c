/*
 * Tariff windows (see tariff.h). A lookup is one localtime_r and a pass
 * over at most TARIFF_WIN_MAX windows; callers cache the answer until the
 * next local minute, when it may change.
 */
#include "tariff.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

void
tariff_init(struct tariff *t)
{
	memset(t, 0, sizeof(*t));
	t->price_kwh = t->qc_price_kwh = t->qc_price_min = t->qc_session_fee = NAN;
}

bool
tariff_has_ac(const struct tariff *t)
{
	return t != NULL && (isfinite(t->price_kwh) || t->nwin > 0);
}

bool
tariff_has_qc(const struct tariff *t)
{
	return t != NULL && (isfinite(t->qc_price_kwh) || isfinite(t->qc_price_min) ||
			     isfinite(t->qc_session_fee));
}

static int
day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "mon-fri,sun" or "*" into a tm_wday bit mask. */
static int
parse_days(const char *s, uint8_t *mask, char *err, size_t errlen)
{
	*mask = 0;
	if (strcmp(s, "*") == 0) {
		*mask = 0x7F;
		return 0;
	}
	for (const char *p = s; *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *dash = memchr(p, '-', n);
		int a = day_index(p, dash ? (size_t)(dash - p) : n);
		int b = dash ? day_index(dash + 1, n - (size_t)(dash - p) - 1) : a;
		if (a < 0 || b < 0) {
			snprintf(err, errlen,
				 "'%.*s' is not a day (mon..sun), a range (mon-fri) or *", (int)n,
				 p);
			return -1;
		}
		for (int d = a;; d = (d + 1) % 7) { /* fri-mon wraps over the weekend */
			*mask |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		p += n;
		if (*p == ',' && *++p == '\0') {
			snprintf(err, errlen, "'%s' ends with a comma", s);
			return -1;
		}
	}
	return 0;
}

static int
parse_hhmm(const char *s, size_t n, int *min)
{
	unsigned h, m;
	char tmp[8];
	int used = 0;

	if (n != 5 || s[2] != ':')
		return -1;
	memcpy(tmp, s, 5);
	tmp[5] = '\0';
	if (sscanf(tmp, "%2u:%2u%n", &h, &m, &used) != 2 || used != 5 ||
	    !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[3]) || m > 59 || h > 24 ||
	    (h == 24 && m != 0))
		return -1;
	*min = (int)(h * 60 + m);
	return 0;
}

/* "23:00-07:00" */
static int
parse_span(const char *s, struct tariff_win *w, char *err, size_t errlen)
{
	const char *dash = strchr(s, '-');

	if (dash == NULL || parse_hhmm(s, (size_t)(dash - s), &w->start_min) < 0 ||
	    parse_hhmm(dash + 1, strlen(dash + 1), &w->end_min) < 0 || w->start_min == 24 * 60) {
		snprintf(err, errlen, "'%s' is not a time span HH:MM-HH:MM", s);
		return -1;
	}
	if (w->start_min == w->end_min) {
		snprintf(err, errlen, "'%s' is an empty time span", s);
		return -1;
	}
	if (w->end_min == 0)
		w->end_min = 24 * 60; /* "22:00-00:00" ends at midnight */
	return 0;
}

static int
parse_window(char *item, struct tariff_win *w, char *err, size_t errlen)
{
	char *tok[4], *save = NULL;
	int n = 0;
	double price;

	for (char *p = strtok_r(item, " \t", &save); p != NULL; p = strtok_r(NULL, " \t", &save)) {
		if (n == 3) {
			snprintf(err, errlen, "'%s ...': a window is DAYS [HH:MM-HH:MM] PRICE",
				 tok[0]);
			return -1;
		}
		tok[n++] = p;
	}
	if (n < 2) {
		snprintf(err, errlen, "'%s': a window is DAYS [HH:MM-HH:MM] PRICE",
			 n ? tok[0] : "");
		return -1;
	}
	if (parse_days(tok[0], &w->days, err, errlen) < 0)
		return -1;
	w->start_min = 0;
	w->end_min = 24 * 60;
	if (n == 3 && parse_span(tok[1], w, err, errlen) < 0)
		return -1;
	if (parse_double(tok[n - 1], &price) < 0 || !isfinite(price) || price < 0 || price > 1e6) {
		snprintf(err, errlen, "'%s' is not a price (a number, 0 or more)", tok[n - 1]);
		return -1;
	}
	w->price = price;
	return 0;
}

int
tariff_parse_tou(struct tariff *t, const char *s, char *err, size_t errlen)
{
	char tmp[1024], *save = NULL;

	t->nwin = 0;
	if (str_copy(tmp, s, sizeof(tmp)) < 0) {
		snprintf(err, errlen, "tou is longer than %zu characters", sizeof(tmp) - 1);
		return -1;
	}
	for (char *item = strtok_r(tmp, "|", &save); item != NULL;
	     item = strtok_r(NULL, "|", &save)) {
		if (strspn(item, " \t") == strlen(item))
			continue; /* "a | | b" and a trailing '|' */
		if (t->nwin == TARIFF_WIN_MAX) {
			snprintf(err, errlen, "more than %d windows", TARIFF_WIN_MAX);
			return -1;
		}
		if (parse_window(item, &t->win[t->nwin], err, errlen) < 0)
			return -1;
		t->nwin++;
	}
	return 0;
}

static bool
win_holds(const struct tariff_win *w, int wday, int min)
{
	int yday = (wday + 6) % 7;

	if (w->end_min > w->start_min)
		return (w->days >> wday & 1) && min >= w->start_min && min < w->end_min;
	/* across midnight: the evening of one of its days, or the next morning */
	return ((w->days >> wday & 1) && min >= w->start_min) ||
	       ((w->days >> yday & 1) && min < w->end_min);
}

int
tariff_price_at(const struct tariff *t, int64_t t_ns, double *price, int64_t *until_ns)
{
	time_t sec = (time_t)(t_ns >= 0 ? t_ns / NSEC_PER_SEC : (t_ns + 1) / NSEC_PER_SEC - 1);
	struct tm tm;

	*until_ns = ((int64_t)sec / 60 + 1) * 60 * NSEC_PER_SEC;
	if (t->nwin > 0 && localtime_r(&sec, &tm) != NULL) {
		int min = tm.tm_hour * 60 + tm.tm_min;
		for (int i = 0; i < t->nwin; i++)
			if (win_holds(&t->win[i], tm.tm_wday, min)) {
				*price = t->win[i].price;
				return 0;
			}
	}
	if (!isfinite(t->price_kwh))
		return -1;
	*price = t->price_kwh;
	return 0;
}
