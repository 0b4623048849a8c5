/*
 * Decode summaries (see summary.h).
 */
#include "summary.h"

#include <string.h>

#include "json.h"

void
summary_init(struct summary *sm)
{
	memset(sm, 0, sizeof(*sm));
}

void
summary_add(struct summary *sm, const struct sig_update *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sig_stat *s;
		if (u[i].id >= SIG_ID_MAX)
			continue;
		s = &sm->s[u[i].id];
		if (s->count == 0 || u[i].value < s->min)
			s->min = u[i].value;
		if (s->count == 0 || u[i].value > s->max)
			s->max = u[i].value;
		s->last = u[i].value;
		s->count++;
	}
}

static void
fmt_val(struct buf *b, const struct sig_info *si, double v)
{
	char tmp[64];

	if (si->type == ST_ENUM && sig_enum_label(si, v, tmp, sizeof(tmp)) != NULL)
		buf_puts(b, tmp);
	else
		buf_printf(b, "%.10g", v);
}

void
summary_format(const struct summary *sm, const struct dec_stats *st, int gen, struct buf *b)
{
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *si = &sig_table[i];
		const struct sig_stat *s = &sm->s[si->id];
		if (s->count == 0 || si->group == SG_CAN)
			continue;
		buf_printf(b, "%-30s %8llu ", si->name, (unsigned long long)s->count);
		fmt_val(b, si, s->min);
		buf_putc(b, ' ');
		fmt_val(b, si, s->max);
		buf_putc(b, ' ');
		fmt_val(b, si, s->last);
		buf_puts(b, si->status == SS_PROVISIONAL ? " provisional\n" : "\n");
	}
	buf_printf(b, "generation %s\n", decoder_gen_name(gen));
	buf_printf(b, "frames %llu\ncrc_errors %llu\ncounter_gaps %llu\nunknown_ids %llu\n",
		   (unsigned long long)st->frames, (unsigned long long)st->crc_errors,
		   (unsigned long long)st->counter_gaps, (unsigned long long)st->unknown_ids);
	buf_printf(b, "implausible %llu\ninvalid %llu\nshort_frames %llu\nparse_errors %llu\n",
		   (unsigned long long)st->implausible, (unsigned long long)st->invalid,
		   (unsigned long long)st->short_frames, (unsigned long long)sm->parse_errors);
	buf_printf(b, "samples %llu\n", (unsigned long long)sm->samples);
	if (sm->time_note[0] != '\0')
		buf_printf(b, "%s\n", sm->time_note);
}

void
summary_json(const struct summary *sm, const struct dec_stats *st, int gen, struct buf *b)
{
	struct json j;

	json_init(&j, b);
	json_obj_open(&j, NULL);
	json_obj_open(&j, "signals");
	for (size_t i = 0; i < sig_count; i++) {
		const struct sig_info *si = &sig_table[i];
		const struct sig_stat *s = &sm->s[si->id];
		if (s->count == 0 || si->group == SG_CAN)
			continue;
		json_obj_open(&j, si->name);
		json_uint(&j, "count", s->count);
		json_dbl(&j, "min", s->min);
		json_dbl(&j, "max", s->max);
		json_dbl(&j, "last", s->last);
		json_bool(&j, "provisional", si->status == SS_PROVISIONAL);
		json_obj_close(&j);
	}
	json_obj_close(&j);
	json_str(&j, "generation", decoder_gen_name(gen));
	json_uint(&j, "frames", st->frames);
	json_uint(&j, "crc_errors", st->crc_errors);
	json_uint(&j, "counter_gaps", st->counter_gaps);
	json_uint(&j, "unknown_ids", st->unknown_ids);
	json_uint(&j, "implausible", st->implausible);
	json_uint(&j, "invalid", st->invalid);
	json_uint(&j, "parse_errors", sm->parse_errors);
	json_uint(&j, "samples", sm->samples);
	if (sm->time_note[0] != '\0')
		json_str(&j, "times", sm->time_note);
	json_obj_close(&j);
}
