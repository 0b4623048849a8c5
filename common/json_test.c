/* The JSON writer: nesting, commas, escaping, non-finite numbers. */
#include <math.h>

#include "json.h"
#include "t.h"

static void
test_json_nesting_and_escapes(void)
{
	struct buf b;
	struct json j;
	buf_init(&b);
	json_init(&j, &b);
	json_obj_open(&j, NULL);
	json_str(&j, "a", "q\"b\\\n\x01");
	json_arr_open(&j, "xs");
	json_int(&j, NULL, -3);
	json_dbl(&j, NULL, 0.5);
	json_dbl(&j, NULL, NAN);
	json_bool(&j, NULL, true);
	json_null(&j, NULL);
	json_arr_close(&j);
	json_obj_open(&j, "o");
	json_obj_close(&j);
	json_obj_close(&j);
	CHECK_STR(buf_str(&b), "{\"a\":\"q\\\"b\\\\\\n\\u0001\",\"xs\":[-3,0.5,null,true,null],\"o\":{}}");
	CHECK_INT(j.err, ==, 0);
	CHECK_INT(j.depth, ==, 0);
	buf_free(&b);
}

T_MAIN(T(test_json_nesting_and_escapes))
