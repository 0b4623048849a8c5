/*
 * leafmon doctor's cloud checks: what an empty write's answer says about
 * the token (the checks against real servers are in
 * tests/integration/test_cloud.py, through `leafmon doctor cloud`).
 */
#include "doctor_double.h"
#include "doctor_cloud.h"
#include "t.h"

static void
test_doctor_cloud_disabled_is_skipped(void)
{
	static struct doctor d;
	config_defaults(&d.c.cfg);
	buf_init(&d.out);
	doctor_cloud_checks(&d); /* [cloud] is off by default: no network touched */
	CHECK_INT(d.n, ==, 1);
	CHECK_INT(d.last, ==, DOC_SKIP);
	CHECK_STR(d.check, "cloud");
	buf_free(&d.out);
}

static void
test_doctor_cloud_token_verdicts(void)
{
	CHECK_INT(doctor_cloud_token_verdict(204, ""), ==, DC_TOKEN_OK);
	/* InfluxDB 2.x before 2.1 looks at the body only after authorization */
	CHECK_INT(doctor_cloud_token_verdict(400, "writing requires points"), ==, DC_TOKEN_OK);
	CHECK_INT(doctor_cloud_token_verdict(401, "unauthorized access"), ==, DC_TOKEN_REFUSED);
	CHECK_INT(doctor_cloud_token_verdict(403, "insufficient permissions for write"), ==,
		  DC_TOKEN_REFUSED);
	/* vmauth refuses an unknown token with 400 */
	CHECK_INT(
	    doctor_cloud_token_verdict(400, "cannot authorize request with auth tokens [\"x\"]"),
	    ==, DC_TOKEN_REFUSED);
	CHECK_INT(doctor_cloud_token_verdict(404, "bucket \"leaf\" not found"), ==, DC_NOT_FOUND);
	CHECK_INT(doctor_cloud_token_verdict(429, "slow down"), ==, DC_RATE_LIMITED);
	CHECK_INT(doctor_cloud_token_verdict(503, ""), ==, DC_RATE_LIMITED);
	CHECK_INT(doctor_cloud_token_verdict(400, "unable to parse"), ==, DC_OTHER);
	CHECK_INT(doctor_cloud_token_verdict(500, NULL), ==, DC_OTHER);
}

T_MAIN(T(test_doctor_cloud_token_verdicts), T(test_doctor_cloud_disabled_is_skipped))
