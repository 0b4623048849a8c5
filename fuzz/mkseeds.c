/*
 * fuzz_mkseeds OUTDIR: seed corpora for the fuzzers, made by leafmon's own
 * code (protobuf-c packing of representative messages, the default config
 * as INI), so no seed file has to be committed. One subdir per fuzzer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "msg.h"
#include "signals.h"
#include "util.h"

static const char *outdir;
static int nseed;

static void
put(const char *fuzzer, const char *name, const void *data, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", outdir, fuzzer);
	if (mkdir_p(path, 0755) < 0)
		fatal("mkdir %s", path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, fuzzer, name);
	if (file_write_atomic(path, data, len, 0644) < 0)
		fatal("write %s", path);
	nseed++;
}

#define PUT_MSG(fuzzer, name, kind, msg)                                                           \
	do {                                                                                       \
		uint8_t buf_[4096];                                                                \
		size_t n_ = leafmon__v1__##kind##__get_packed_size(msg);                           \
		if (n_ > sizeof(buf_))                                                             \
			fatalx("seed %s too big", name);                                           \
		leafmon__v1__##kind##__pack(msg, buf_);                                            \
		put(fuzzer, name, buf_, n_);                                                       \
	} while (0)

static void
seed_samples(void)
{
	static const char *const names[] = {"battery_voltage_v", "battery_current_a", "vehicle_gear",
					    "vehicle_ready", "battery_gids", "vehicle_speed_kmh"};
	uint32_t ids[ARRAY_LEN(names)];
	double vals[ARRAY_LEN(names)] = {364.5, -12.25, 3, 1, 221, 87.5};
	Sample s = LEAFMON__V1__SAMPLE__INIT;

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		const struct sig_info *si = sig_by_name(names[i]);
		if (si == NULL)
			fatalx("signal %s not in the catalogue", names[i]);
		ids[i] = si->id;
	}
	s.generation = 0x1234567890abcdefULL;
	s.seq = 42;
	s.t_ns = 1700000000123456789LL;
	s.n_ids = s.n_values = ARRAY_LEN(names);
	s.ids = ids;
	s.values = vals;
	s.has_boot_ns = s.has_unsynced = 1;
	s.boot_ns = 12345678901LL;
	s.unsynced = 1;
	PUT_MSG("proto_sample", "full", sample, &s);
	s.n_ids = s.n_values = 1;
	s.has_boot_ns = s.has_unsynced = 0;
	PUT_MSG("proto_sample", "one", sample, &s);
}

static void
seed_frames(void)
{
	uint8_t d[64];
	Frame f = LEAFMON__V1__FRAME__INIT;

	for (int i = 0; i < 64; i++)
		d[i] = (uint8_t)(i * 37);
	f.t_ns = 1700000000000000000LL;
	f.id = 0x1DB;
	f.data.data = d;
	f.data.len = 8;
	PUT_MSG("proto_frame", "classic", frame, &f);
	f.id = 0x18DAF1DB;
	f.flags = 0x01;
	f.bus = 1;
	PUT_MSG("proto_frame", "extended", frame, &f);
	f.flags = 0x04;
	f.data.len = 64;
	PUT_MSG("proto_frame", "fd", frame, &f);
}

static void
seed_ctl(void)
{
	Counter c1 = LEAFMON__V1__COUNTER__INIT, c2 = LEAFMON__V1__COUNTER__INIT;
	Counter *cs[] = {&c1, &c2};
	Alert a = LEAFMON__V1__ALERT__INIT;
	Alert *as[] = {&a};
	Ledger l = LEAFMON__V1__LEDGER__INIT;
	Counter *ex[] = {&c2};
	Heartbeat h = LEAFMON__V1__HEARTBEAT__INIT;
	Leafmon__V1__Ready r = LEAFMON__V1__READY__INIT;
	Ctl ctl = LEAFMON__V1__CTL__INIT;
	uint8_t buf[4096];

	c1.name = "frames";
	c1.value = 123456;
	c2.name = "samples";
	c2.value = 789;
	a.code = "auth";
	a.text = "the server refused the token";
	a.has_since = 1;
	a.since = 1700000000;
	l.has_queued_records = l.has_queued_bytes = l.has_last_error_code = 1;
	l.queued_records = 10;
	l.queued_bytes = 2048;
	l.last_error_code = 401;
	l.last_error_text = "unauthorized";
	l.n_extra = 1;
	l.extra = ex;
	h.n_counters = 2;
	h.counters = cs;
	h.ledger = &l;
	h.n_alerts = 1;
	h.alerts = as;
	ctl.msg_case = LEAFMON__V1__CTL__MSG_HEARTBEAT;
	ctl.heartbeat = &h;
	buf[0] = 1; /* the worker: influx */
	size_t n = leafmon__v1__ctl__pack(&ctl, buf + 1);
	put("proto_ctl", "heartbeat", buf, n + 1);
	r.detail = "sources open";
	ctl.msg_case = LEAFMON__V1__CTL__MSG_READY;
	ctl.ready = &r;
	buf[0] = 0;
	n = leafmon__v1__ctl__pack(&ctl, buf + 1);
	put("proto_ctl", "ready", buf, n + 1);
}

/* control requests: a sequence, each with a 2-byte big-endian length */
static size_t
add_req(uint8_t *buf, size_t off, const ControlRequest *req)
{
	size_t n = leafmon__v1__control_request__pack(req, buf + off + 2);
	buf[off] = (uint8_t)(n >> 8);
	buf[off + 1] = (uint8_t)n;
	return off + 2 + n;
}

static void
seed_requests(void)
{
	uint8_t buf[1024];
	ControlRequest q = LEAFMON__V1__CONTROL_REQUEST__INIT;
	Leafmon__V1__StatusRequest sr = LEAFMON__V1__STATUS_REQUEST__INIT;
	Leafmon__V1__WorkerRequest wr = LEAFMON__V1__WORKER_REQUEST__INIT;
	Leafmon__V1__ReloadRequest rr = LEAFMON__V1__RELOAD_REQUEST__INIT;
	Leafmon__V1__LogLevelRequest lr = LEAFMON__V1__LOG_LEVEL_REQUEST__INIT;
	size_t off = 0;

	q.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_STATUS;
	q.status = &sr;
	off = add_req(buf, off, &q);
	put("proto_control_request", "status", buf, off);
	wr.worker = "influx";
	q.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_STOP;
	q.stop = &wr;
	off = add_req(buf, 0, &q);
	q.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_START;
	q.start = &wr;
	off = add_req(buf, off, &q);
	q.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_RESTART;
	q.restart = &wr;
	off = add_req(buf, off, &q);
	put("proto_control_request", "stop-start-restart", buf, off);
	q.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_RELOAD;
	q.reload = &rr;
	off = add_req(buf, 0, &q);
	lr.level = 7;
	lr.worker = "can";
	q.op_case = LEAFMON__V1__CONTROL_REQUEST__OP_LOG_LEVEL;
	q.log_level = &lr;
	off = add_req(buf, off, &q);
	put("proto_control_request", "reload-loglevel", buf, off);
}

static void
seed_responses(void)
{
	Counter c = LEAFMON__V1__COUNTER__INIT;
	Counter *cs[] = {&c};
	Alert a = LEAFMON__V1__ALERT__INIT;
	Alert *as[] = {&a};
	Ledger l = LEAFMON__V1__LEDGER__INIT;
	WorkerStatus w1 = LEAFMON__V1__WORKER_STATUS__INIT, w2 = LEAFMON__V1__WORKER_STATUS__INIT;
	WorkerStatus *ws[] = {&w1, &w2};
	ClockStatus clk = LEAFMON__V1__CLOCK_STATUS__INIT;
	Status st = LEAFMON__V1__STATUS__INIT;
	ControlResponse r = LEAFMON__V1__CONTROL_RESPONSE__INIT;

	c.name = "frames";
	c.value = 1e6;
	a.code = "no_source";
	a.text = "can0: No such device";
	l.has_queued_records = l.has_oldest_age_s = l.has_dropped = 1;
	l.queued_records = 99;
	l.oldest_age_s = 12.5;
	l.dropped = 3;
	w1.name = "can";
	w1.state = "ready";
	w1.has_pid = w1.has_uptime_s = 1;
	w1.pid = 1234;
	w1.uptime_s = 3600;
	w1.n_counters = 1;
	w1.counters = cs;
	w1.n_alerts = 1;
	w1.alerts = as;
	w2.name = "influx";
	w2.state = "backoff";
	w2.ledger = &l;
	w2.has_next_start_in_s = 1;
	w2.next_start_in_s = 1.5;
	clk.boot_id = "0123456789abcdef0123456789abcdef";
	clk.synced = 1;
	clk.realtime_ns = 1700000000000000000LL;
	clk.boottime_ns = 123456789;
	st.n_workers = 2;
	st.workers = ws;
	st.clock = &clk;
	st.version = "0.1.0";
	r.status = &st;
	PUT_MSG("proto_control_response", "status", control_response, &r);
	r.status = NULL;
	r.code = 22;
	r.error = "unknown worker 'x' (can, influx, cloud, web, mqtt, abrp or ledger)";
	PUT_MSG("proto_control_response", "error", control_response, &r);
}

static void
seed_config(void)
{
	struct config cfg;

	config_defaults(&cfg);
	char *ini = config_dump(&cfg);
	put("config", "defaults", ini, strlen(ini));
	free(ini);
}

static void
seed_http_query(void)
{
	static const char q1[] = "1700000000\n2024-05-01T12:00:00.5+02:00\n60\n500\n"
				 "battery_voltage_v,battery_current_a\ninflux\n"
				 "password=a%20b&csrf=0123abcd";
	static const char q2[] = "2024-05-01T00:00:00Z\n\n\n5000\nvehicle_speed_kmh\nweb\n";

	/* bytes a client can send: %ff decoded, multi-byte characters where the
	 * echoed value is cut */
	static const char q3[] = "1700000000\xff\n\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				 "\xc3\xa9\xc3\xa9\n1234567890123456789\xe2\x82\xac\nabc\xf0\x9f"
				 "\n\xff\xfe\n\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
				 "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\n";

	put("http_query", "range", q1, sizeof(q1) - 1);
	put("http_query", "defaults", q2, sizeof(q2) - 1);
	put("http_query", "utf8", q3, sizeof(q3) - 1);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_mkseeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	seed_samples();
	seed_frames();
	seed_ctl();
	seed_requests();
	seed_responses();
	seed_config();
	seed_http_query();
	printf("fuzz_mkseeds: %d seeds in %s\n", nseed, outdir);
	return 0;
}
