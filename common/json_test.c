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

/* every string comes out valid UTF-8: good sequences kept, bad bytes U+FFFD */
static void
test_json_escape_keeps_utf8_valid(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x97",
	     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x97\""},
	    {"'\xff'", "\"'\xef\xbf\xbd'\""},		      /* /api/latest?signals=%ff */
	    {"ab\xe2\x82", "\"ab\xef\xbf\xbd\xef\xbf\xbd\""}, /* cut mid-character */
	    {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},     /* overlong '/' */
	    {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* a surrogate */
	    {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
	    {"\x80x", "\"\xef\xbf\xbdx\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		buf_init(&b);
		json_escape(&b, cases[i].in);
		CHECK_STR(buf_str(&b), cases[i].out);
		buf_free(&b);
	}
}

T_MAIN(T(test_json_nesting_and_escapes), T(test_json_escape_keeps_utf8_valid))
