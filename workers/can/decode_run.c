/*
 * The offline decode pipeline (see decode_run.h).
 */
#include "decode_run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cutter.h"
#include "decode.h"
#include "logread.h"
#include "summary.h"
#include "util.h"

void
decode_opts_init(struct decode_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->fmt = LF_AUTO;
	o->bus = BUS_EV;
	o->gen = CFG_GEN_AUTO;
	o->interval_ms = 100;
	o->keyframe_s = 60;
	o->samples = true;
	o->max_errors = 20;
	o->scfg = (struct sessions_cfg){300 * NSEC_PER_SEC, 30 * NSEC_PER_SEC, 0.1, 0.88, NULL};
}

/* One sample as a JSON line: {"t": 1700000000.123456, "name": value, ...}\n */
static void
decode_sample_json(const struct sample_out *s, struct buf *b)
{
	char v[64], t[48] = "{\"t\": ";
	int64_t sec = s->t_ns / 1000000000LL, us = (s->t_ns % 1000000000LL) / 1000;
	size_t n = 6;

	if (us < 0) {
		sec--;
		us += 1000000;
	}
	n += sig_fmt_i64(t + n, sec);
	t[n++] = '.';
	for (int i = 5; i >= 0; i--, us /= 10) /* %06 */
		t[n + (size_t)i] = (char)('0' + us % 10);
	buf_append(b, t, n + 6);
	for (size_t i = 0; i < s->n; i++) {
		const struct sig_info *si = sig_by_id(s->ids[i]);
		int vl;
		if (si == NULL || (vl = sig_format_json(si, s->values[i], v, sizeof(v))) < 0)
			continue;
		buf_append(b, ", \"", 3);
		buf_puts(b, si->name);
		buf_append(b, "\": ", 3);
		buf_append(b, v, (size_t)vl);
	}
	buf_append(b, "}\n", 2);
}

struct run {
	const struct decode_opts *o;
	FILE *out;
	struct decoder dec;
	struct dec_hold hold;
	struct cutter cut;
	struct summary sm;
	struct sample_out so;
	struct sessions ss;
	struct buf line;
};

static void
emit_sample(struct run *r)
{
	r->sm.samples++;
	if (!r->o->samples)
		return;
	buf_reset(&r->line);
	decode_sample_json(&r->so, &r->line);
	fwrite(r->line.p, 1, r->line.len, r->out);
}

/* The sessions that ended: one line each (the live worker publishes every
 * phase; a log's reader wants the final figures). */
static void
emit_sessions(struct run *r)
{
	for (size_t i = 0; i < r->ss.nev; i++) {
		if (r->ss.ev[i].phase != SESS_END)
			continue;
		buf_reset(&r->line);
		if (r->o->session_fn != NULL) {
			session_json(&r->ss.ev[i].s, &r->o->scfg, &r->line);
			buf_putc(&r->line, '\0');
			r->o->session_fn(r->o->session_arg, &r->ss.ev[i],
					 r->line.oom ? NULL : r->line.p);
			continue;
		}
		if (r->o->json) {
			session_json(&r->ss.ev[i].s, &r->o->scfg, &r->line);
			buf_putc(&r->line, '\n');
		} else
			session_text(&r->ss.ev[i].s, &r->o->scfg, &r->line);
		fwrite(r->line.p, 1, r->line.len, r->out);
	}
	sessions_clear_events(&r->ss);
}

static void
run_frame(struct run *r, const struct can_rec *f)
{
	struct sig_update u[DEC_MAX_UPDATES];
	size_t n;

	if (cutter_frame(&r->cut, f->t_ns, &r->so))
		emit_sample(r);
	n = decoder_frame(&r->dec, f, u, DEC_MAX_UPDATES);
	cutter_add(&r->cut, u, n);
	summary_add(&r->sm, u, n);
	if (r->o->sessions) {
		sessions_frame(&r->ss, f->t_ns, u, n);
		if (r->ss.nev > 0)
			emit_sessions(r);
	}
}

/* Every frame goes through the hold first, as in the live worker. */
static void
run_push(struct run *r, const struct can_rec *f)
{
	const struct can_rec *out;
	size_t n = dec_hold_push(&r->hold, &r->dec, f, &out);

	for (size_t i = 0; i < n; i++)
		run_frame(r, &out[i]);
}

static void
run_end(struct run *r)
{
	struct sig_update u[DEC_MAX_UPDATES];
	const struct can_rec *held;
	size_t n = dec_hold_flush(&r->hold, &held);

	for (size_t i = 0; i < n; i++)
		run_frame(r, &held[i]);
	n = decoder_health(&r->dec, u, DEC_MAX_UPDATES);

	/* the final health counters ride in the last sample */
	cutter_add(&r->cut, u, n);
	if (cutter_flush(&r->cut, &r->so))
		emit_sample(r);
	if (r->o->sessions) {
		sessions_finish(&r->ss);
		emit_sessions(r);
	}
}

static void
print_summary(struct run *r)
{
	buf_reset(&r->line);
	if (r->o->json) {
		summary_json(&r->sm, &r->dec.st, r->dec.gen, &r->line);
		buf_putc(&r->line, '\n');
	} else
		summary_format(&r->sm, &r->dec.st, r->dec.gen, &r->line);
	fwrite(r->line.p, 1, r->line.len, r->out);
}

int
decode_file(const char *path, const struct decode_opts *o, FILE *out, FILE *errf)
{
	struct run *r = calloc(1, sizeof(*r));
	struct logread lr;
	struct can_rec f;
	int k;

	if (r == NULL)
		return -1;
	if (logread_open(&lr, path, o->fmt, o->bus, o->start_ns) < 0) {
		fprintf(errf, "%s: %s\n", path, strerror(errno));
		free(r);
		return -1;
	}
	(void)logread_map(&lr); /* a file: read through a mapping; a pipe: read(2) */
	r->o = o;
	r->out = out;
	decoder_init(&r->dec, o->gen);
	dec_hold_init(&r->hold, &r->dec);
	cutter_init(&r->cut, o->interval_ms, o->keyframe_s);
	summary_init(&r->sm);
	sessions_init(&r->ss, &o->scfg);
	buf_init(&r->line);
	while ((k = logread_next(&lr, &f)) != 0) {
		if (k > 0) {
			run_push(r, &f);
			continue;
		}
		if (r->sm.parse_errors++ < (uint64_t)o->max_errors)
			fprintf(errf, "%s\n", lr.err);
	}
	run_end(r);
	if (r->sm.parse_errors > (uint64_t)o->max_errors)
		fprintf(errf, "%s: %llu unparseable lines in all (skipped)\n", lr.name,
			(unsigned long long)r->sm.parse_errors);
	char why[1024];
	int rc = logread_why_none(&lr, why, sizeof(why)) == 0 ? -1 : 0;
	if (rc < 0)
		fprintf(errf, "leafmon decode: %s\n", why);
	else if (o->summary) {
		logread_time_note(&lr, r->sm.time_note, sizeof(r->sm.time_note));
		print_summary(r);
	}
	logread_close(&lr);
	dec_hold_free(&r->hold);
	buf_free(&r->line);
	free(r);
	return rc;
}
