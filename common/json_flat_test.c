/* The flat JSON reader: members and their types, white space, nesting
 * skipped, the end, errors with offsets, unescaping. */
#include <string.h>

#include "json_flat.h"
#include "t.h"

static void
test_json_flat_members(void)
{
	const char *s = "\t{ \"a\" : -1.5e3 , \"b\":true,\"c\":null,\"d\":[[],{}],\"e\":\"x\\\"y\"}\r\n";
	struct jf_iter it;
	struct jf_member m;

	json_flat_init(&it, s, strlen(s));
	CHECK_INT(json_flat_next(&it, &m), ==, 1);
	CHECK(m.key_len == 1 && m.key[0] == 'a' && m.type == JF_NUMBER);
	CHECK(m.val_len == 6 && memcmp(m.val, "-1.5e3", 6) == 0);
	CHECK_INT(json_flat_next(&it, &m), ==, 1);
	CHECK(m.type == JF_BOOL && m.b);
	CHECK_INT(json_flat_next(&it, &m), ==, 1);
	CHECK(m.type == JF_NULL);
	CHECK_INT(json_flat_next(&it, &m), ==, 1);
	CHECK(m.type == JF_NESTED && m.val_len == 7);
	CHECK_INT(json_flat_next(&it, &m), ==, 1);
	CHECK(m.type == JF_STRING && m.val_len == 4);
	CHECK_INT(json_flat_next(&it, &m), ==, 0);
	CHECK_INT(json_flat_next(&it, &m), ==, 0);
	json_flat_init(&it, "{}", 2);
	CHECK_INT(json_flat_next(&it, &m), ==, 0);
}

static void
test_json_flat_errors(void)
{
	char deep[80];
	struct jf_iter it;
	struct jf_member m;

	json_flat_init(&it, "{\"a\":1,}", 8);
	CHECK_INT(json_flat_next(&it, &m), ==, 1);
	CHECK_INT(json_flat_next(&it, &m), ==, -1);
	CHECK_STR(it.err, "a string was expected");
	CHECK_INT(it.err_at, ==, 7);
	CHECK_INT(json_flat_next(&it, &m), ==, -1); /* stays failed */
	memset(deep, '[', sizeof(deep));
	memcpy(deep, "{\"a\":", 5);
	json_flat_init(&it, deep, sizeof(deep));
	CHECK_INT(json_flat_next(&it, &m), ==, -1);
	CHECK_STR(it.err, "nested too deep");
	json_flat_init(&it, "{\"a\":\"x", 7);
	CHECK_INT(json_flat_next(&it, &m), ==, -1);
	CHECK_STR(it.err, "unterminated string");
}

static void
test_json_flat_unescape(void)
{
	static const char raw[] = "a\\n\\t\\/\\u0041\\u20ac\\ud83d\\ude97";
	struct buf b;

	buf_init(&b);
	CHECK_INT(json_flat_unescape(raw, strlen(raw), &b), ==, 0);
	CHECK_STR(buf_str(&b), "a\n\t/A\xe2\x82\xac\xf0\x9f\x9a\x97");
	buf_reset(&b);
	CHECK_INT(json_flat_unescape("\\ude97", 6, &b), ==, -1);
	CHECK_INT(json_flat_unescape("\\ud83dx", 7, &b), ==, -1);
	CHECK_INT(json_flat_unescape("\\", 1, &b), ==, -1);
	CHECK_INT(json_flat_unescape("\\q", 2, &b), ==, -1);
	buf_free(&b);
}

T_MAIN(T(test_json_flat_members), T(test_json_flat_errors), T(test_json_flat_unescape))
