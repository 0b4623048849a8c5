/*
 * InfluxQL for the history API (pure): the query that downsamples the
 * requested signals into the grid's buckets (one statement per measurement,
 * mean() for numbers, last() for bools and enums), and the parser that puts
 * InfluxDB's JSON answer (/query?epoch=ms) into an hgrid.
 */
#ifndef LEAFMON_INFLUXQL_H
#define LEAFMON_INFLUXQL_H

#include <stddef.h>

#include "hgrid.h"
#include "util.h"

/* The q= text for g's signals and range; rp may be "" (default policy). */
void influxql_build(const struct hgrid *g, const char *rp, struct buf *q);

/*
 * Fill g from a /query answer. -1 with a message in err when the answer is
 * not JSON of the expected shape or InfluxDB reports an error (unknown
 * database, bad statement). Values that do not fit the grid are counted in
 * g->rejected.
 */
int influxql_parse(const char *body, size_t len, struct hgrid *g, char *err, size_t errlen);

#endif
