/*
 * The doctor as a test double, for the unit tests of a part's checks
 * (doctor_web_test.c, doctor_cloud_test.c): every report is kept as a line
 * "LEVEL check: detail" in out, and the last one's level and check name.
 */
#ifndef LEAFMON_DOCTOR_DOUBLE_H
#define LEAFMON_DOCTOR_DOUBLE_H

#include "cli.h"
#include "util.h"

struct doctor {
	struct cli c;
	const Status *st;
	struct buf out;
	int n;
	enum doctor_level last;
	char check[64];
};

#endif
