/* /metrics text: signals from a real snapshot in base units, the status
 * document's workers, counters and ledgers, label escaping, and names that
 * keep Prometheus's conventions for every signal of the catalogue. */
#include "prom.h"
#include "t.h"

static void
test_prom_signals_from_snapshot(void)
{
	const char *dir = t_tmpdir();
	struct snap *s;
	bool re;
	uint64_t gen;
	struct buf b;
	CHECK_INT(snap_create(dir, &re, &gen), ==, 0);
	CHECK_INT(snap_open(&s, dir, true), ==, 0);
	snap_write(s, SIG_battery_soc_pct, 55.5, 1, SNAP_VALID);
	snap_write(s, SIG_battery_power_kw, -6.6, 1, SNAP_VALID);
	snap_write(s, SIG_vehicle_speed_kmh, 90, 1, SNAP_VALID);
	snap_write(s, SIG_can_crc_errors, 3, 1, SNAP_VALID);
	snap_write(s, SIG_vehicle_gear, 3, 1, SNAP_VALID | SNAP_STALE);
	snap_write(s, SIG_motor_temp_c, 40, 1, SNAP_VALID); /* provisional: not shown */
	buf_init(&b);
	prom_signals(&b, s);
	const char *t = buf_str(&b);
	CHECK(strstr(t, "gauge\nleafmon_battery_soc_ratio 0.555\n") != NULL);
	CHECK(strstr(t, "\nleafmon_battery_power_watts -6600\n") != NULL);
	CHECK(strstr(t, "\nleafmon_vehicle_speed_meters_per_second 25\n") != NULL);
	CHECK(strstr(t, "# TYPE leafmon_can_crc_errors_total counter\n") != NULL);
	CHECK(strstr(t, "\nleafmon_can_crc_errors_total 3\n") != NULL);
	CHECK(strstr(t, "leafmon_vehicle_gear{label=\"D\"} 3\n") != NULL);
	CHECK(strstr(t, "leafmon_signal_stale{signal=\"vehicle_gear\"} 1\n") != NULL);
	CHECK(strstr(t, "leafmon_signal_stale{signal=\"battery_soc_pct\"} 0\n") != NULL);
	CHECK(strstr(t, "motor_temp") == NULL);
	CHECK(strstr(t, "leafmon_vehicle_odometer") == NULL); /* never written */
	buf_free(&b);
	snap_close(s);
}

static void
test_prom_status_workers_and_ledgers(void)
{
	Status st = LEAFMON__V1__STATUS__INIT;
	WorkerStatus w[2] = {LEAFMON__V1__WORKER_STATUS__INIT, LEAFMON__V1__WORKER_STATUS__INIT};
	WorkerStatus *wp[2] = {&w[0], &w[1]};
	Counter c = LEAFMON__V1__COUNTER__INIT, *cp = &c;
	Ledger l = LEAFMON__V1__LEDGER__INIT;
	ClockStatus clk = LEAFMON__V1__CLOCK_STATUS__INIT;
	struct buf b;
	w[0].name = "can";
	w[0].state = "ready";
	w[0].restarts = 2;
	w[0].has_uptime_s = 1;
	w[0].uptime_s = 12.5;
	c.name = "crc_errors";
	c.value = 7;
	w[0].n_counters = 1;
	w[0].counters = &cp;
	w[1].name = "influx";
	w[1].state = "backoff";
	l.queued_records = 42;
	l.has_last_error_code = 1;
	l.last_error_code = 503;
	w[1].ledger = &l;
	st.n_workers = 2;
	st.workers = wp;
	st.supervisor_uptime_s = 100;
	clk.boot_id = "x";
	clk.synced = 1;
	st.clock = &clk;
	buf_init(&b);
	prom_status(&b, &st);
	const char *t = buf_str(&b);
	CHECK(strstr(t, "leafmon_status_available 1\n") != NULL);
	CHECK(strstr(t, "leafmon_worker_state{worker=\"influx\",state=\"backoff\"} 1\n") != NULL);
	CHECK(strstr(t, "leafmon_worker_up{worker=\"can\"} 1\n") != NULL);
	CHECK(strstr(t, "leafmon_worker_up{worker=\"influx\"} 0\n") != NULL);
	CHECK(strstr(t, "# TYPE leafmon_worker_restarts_total counter\n") != NULL);
	CHECK(strstr(t, "leafmon_worker_restarts_total{worker=\"can\"} 2\n") != NULL);
	CHECK(strstr(t, "leafmon_worker_uptime_seconds{worker=\"influx\"} NaN\n") != NULL);
	CHECK(strstr(t, "leafmon_worker_stat{worker=\"can\",name=\"crc_errors\"} 7\n") != NULL);
	CHECK(strstr(t, "leafmon_sync_queued_records{writer=\"influx\"} 42\n") != NULL);
	CHECK(strstr(t, "leafmon_sync_last_error_code{writer=\"influx\"} 503\n") != NULL);
	CHECK(strstr(t, "writer=\"can\"") == NULL);
	CHECK(strstr(t, "leafmon_clock_synced 1\n") != NULL);
	buf_reset(&b);
	prom_status(&b, NULL);
	CHECK_STR(buf_str(&b), "# HELP leafmon_status_available 1 when leafmond answered the status "
			       "request\n# TYPE leafmon_status_available gauge\n"
			       "leafmon_status_available 0\n");
	buf_reset(&b);
	prom_label_escape(&b, "a\"b\\c\nd");
	CHECK_STR(buf_str(&b), "a\\\"b\\\\c\\nd");
	buf_free(&b);
}

/* the word of one name between underscores */
static bool
has_word(const char *name, const char *word)
{
	size_t k = strlen(word);
	for (const char *p = strstr(name, word); p != NULL; p = strstr(p + 1, word))
		if (p[-1] == '_' && (p[k] == '_' || p[k] == '\0'))
			return true;
	return false;
}

/* the rules `promtool check metrics` and Prometheus's naming page give, for
 * every signal (Debian's promtool 2.42 checks only some of them) */
static void
test_prom_signal_names_follow_the_conventions(void)
{
	static const char *const abbreviations[] = {"s", "ms", "us", "ns", "sec", "b", "kb", "mb",
						    "m", "h", "d", "a", "v", "c", "kw", "kwh",
						    "pct", "kmh", "km", "nm", "mv", "rpm", "ah"};
	static const char *const not_base[] = {"minutes", "hours", "miles", "kilowatts", "counter",
					       "gauge", "percent"};
	int checked = 0;
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *si = &sig_table[i];
		char name[128];
		double scale;
		bool counter;
		if (!sig_published(si) || si->group == SG_CELL)
			continue;
		CHECK_INT(prom_signal_metric(si, name, sizeof(name), &scale, &counter), ==, 0);
		for (size_t k = 0; k < ARRAY_LEN(abbreviations); k++)
			if (has_word(name, abbreviations[k]))
				t_fail(__FILE__, __LINE__, "%s: abbreviated unit '%s'", name,
				       abbreviations[k]);
		for (size_t k = 0; k < ARRAY_LEN(not_base); k++)
			if (has_word(name, not_base[k]))
				t_fail(__FILE__, __LINE__, "%s: '%s'", name, not_base[k]);
		if (counter != (strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0))
			t_fail(__FILE__, __LINE__, "%s: _total is for counters only", name);
		checked++;
	}
	CHECK_INT(checked, >=, 50);
}

T_MAIN(T(test_prom_signals_from_snapshot), T(test_prom_status_workers_and_ledgers),
       T(test_prom_signal_names_follow_the_conventions))
