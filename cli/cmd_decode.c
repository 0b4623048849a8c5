/*
 * leafmon decode [--format F] [--json] [--summary] [--sessions] [--start T]
 *                [--bus B] [--generation G] [--interval MS] [--keyframe S] FILE|-
 * Decodes a log offline, no daemon needed: one JSON line per sample, cut on
 * frame time exactly as the live worker cuts them, the sessions the log
 * holds (trips, charges, parked periods, battery_daily; the session module
 * of the live worker, with the config's [ledger] and [tariff]), or a
 * summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "canframe.h"
#include "cli.h"
#include "decode.h"
#include "decode_run.h"
#include "logfmt.h"
#include "util.h"

static void
decode_usage(void)
{
	fprintf(
	    stderr,
	    "usage: leafmon decode [--format F] [--json] [--summary] [--sessions] [--start T]\n"
	    "                      [--bus ev|car|qc] [--generation ZE0|AZE0|ZE1] [--interval MS]\n"
	    "                      [--keyframe S] FILE|-\n"
	    "  formats: %s\n",
	    logfmt_names());
}

static int
bus_by_name(const char *s)
{
	for (int b = 0; b < BUS_COUNT; b++)
		if (strcmp(s, can_bus_name((unsigned)b)) == 0)
			return b;
	return -1;
}

static int
gen_by_name(const char *s)
{
	for (int g = GEN_ZE0; g <= GEN_ZE1; g++)
		if (strcasecmp(s, decoder_gen_name(g)) == 0)
			return g;
	return strcasecmp(s, "auto") == 0 ? -1 : -2;
}

/* The decode options of the config: the live worker's [can] and
 * [ledger] and [tariff] (leafmon decode and leafmon import). */
void
cli_decode_opts(struct cli *c, struct decode_opts *o)
{
	decode_opts_init(o);
	o->gen = c->cfg.can.generation;
	o->interval_ms = c->cfg.can.publish_interval_ms > 0 ? c->cfg.can.publish_interval_ms : 100;
	o->keyframe_s = c->cfg.can.keyframe_s;
	o->json = c->json;
	o->scfg.trip_end_ns = (int64_t)c->cfg.ledger.trip_end_s * NSEC_PER_SEC;
	o->scfg.asleep_ns = (int64_t)c->cfg.can.asleep_after_s * NSEC_PER_SEC;
	o->scfg.min_trip_km = c->cfg.ledger.min_trip_km;
	o->scfg.ac_efficiency = c->cfg.ledger.ac_efficiency;
	o->scfg.tariff = &c->cfg.tariff;
}

static int
parse_opts(struct cli *c, int argc, char **argv, struct decode_opts *o)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"json", no_argument, NULL, 'j'},
					     {"summary", no_argument, NULL, 's'},
					     {"start", required_argument, NULL, 't'},
					     {"bus", required_argument, NULL, 'b'},
					     {"generation", required_argument, NULL, 'g'},
					     {"interval", required_argument, NULL, 'i'},
					     {"keyframe", required_argument, NULL, 'k'},
					     {"help", no_argument, NULL, 'h'},
					     {"sessions", no_argument, NULL, 'S'},
					     {NULL, 0, NULL, 0}};
	double start;
	int64_t iv;
	int ch;

	cli_decode_opts(c, o);
	optind = 0; /* glibc: re-initialise (leafmon.c parsed with "+") */
	while ((ch = getopt_long(argc, argv, "f:jst:b:g:i:k:hS", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if ((o->fmt = logfmt_by_name(optarg)) < 0)
				return fprintf(stderr, "leafmon decode: unknown format '%s'\n",
					       optarg),
				       -1;
			break;
		case 'j':
			o->json = true;
			break;
		case 's':
			o->summary = true;
			break;
		case 'S':
			o->sessions = true;
			break;
		case 't':
			if (parse_double(optarg, &start) < 0 || start < 0 || start > 1e10)
				return fprintf(stderr,
					       "leafmon decode: bad --start '%s' (seconds)\n",
					       optarg),
				       -1;
			o->start_ns = (int64_t)(start * 1e9 + 0.5);
			break;
		case 'b':
			if ((o->bus = bus_by_name(optarg)) < 0)
				return fprintf(stderr, "leafmon decode: unknown bus '%s'\n",
					       optarg),
				       -1;
			break;
		case 'g':
			if ((o->gen = gen_by_name(optarg)) < -1)
				return fprintf(stderr, "leafmon decode: unknown generation '%s'\n",
					       optarg),
				       -1;
			break;
		case 'i':
			if (parse_i64(optarg, 10, 60000, &iv) < 0)
				return fprintf(stderr, "leafmon decode: bad --interval '%s'\n",
					       optarg),
				       -1;
			o->interval_ms = (int)iv;
			break;
		case 'k':
			if (parse_i64(optarg, 0, 86400, &iv) < 0)
				return fprintf(stderr,
					       "leafmon decode: bad --keyframe '%s' (seconds, 0: "
					       "off)\n",
					       optarg),
				       -1;
			o->keyframe_s = (int)iv;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 1)
		return -1;
	o->samples = !o->summary && !o->sessions;
	return 0;
}

int
cmd_decode(struct cli *c, int argc, char **argv)
{
	struct decode_opts o;

	if (parse_opts(c, argc, argv, &o) < 0) {
		decode_usage();
		return EXIT_USAGE;
	}
	if (decode_file(argv[optind], &o, stdout, stderr) < 0)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
