/* Request heads before MHD reads them: complete or not, and the
 * Content-Length values the worker answers itself (bad: 400, too large:
 * 413) or leaves to MHD. */
#include "t.h"
#include "util.h"
#include "whead.h"

static enum whead_verdict
check(const char *head)
{
	return whead_check(head, strlen(head), 4096);
}

static void
test_whead_content_length(void)
{
	CHECK_INT(check("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ==, WHEAD_OK);
	CHECK_INT(check("POST /api/login HTTP/1.1\r\nContent-Length: 12\r\n\r\npassword=x"), ==,
		  WHEAD_OK);
	CHECK_INT(check("POST / HTTP/1.1\r\ncontent-LENGTH:  4096 \r\n\r\n"), ==, WHEAD_OK);
	CHECK_INT(check("POST / HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n"), ==,
		  WHEAD_OK);
	static const char *const bad[] = {"abc",  "-1", "+5",  "5, 6", "1e3",
					  "0x10", "",	"5 6", "\t"};
	char head[200];
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(head, sizeof(head),
			 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n", bad[i]);
		if (check(head) != WHEAD_BAD)
			t_fail(__FILE__, __LINE__, "Content-Length '%s' not refused", bad[i]);
	}
	CHECK_INT(check("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), ==,
		  WHEAD_BAD);
	CHECK_INT(check("POST / HTTP/1.1\r\nContent-Length: 5\r\n 6\r\n\r\n"), ==, WHEAD_BAD);
	CHECK_INT(check("POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n"), ==, WHEAD_TOO_LARGE);
	CHECK_INT(check("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n"),
		  ==, WHEAD_TOO_LARGE);
	/* chunked: MHD reads no Content-Length */
	CHECK_INT(
	    check("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: x\r\n\r\n"), ==,
	    WHEAD_OK);
}

static void
test_whead_incomplete_or_not_ours(void)
{
	CHECK_INT(check("POST / HTTP/1.1\r\nContent-Length: abc\r\n"), ==, WHEAD_MORE);
	CHECK_INT(check(""), ==, WHEAD_MORE);
	CHECK_INT(check("GET / HTTP/1.1\n\n"), ==, WHEAD_MORE); /* bare LF: MHD's business */
	/* the rest of a head MHD has begun reading, a body, garbage */
	CHECK_INT(check("Content-Length: abc\r\n\r\n"), ==, WHEAD_UNSURE);
	CHECK_INT(check("password=x&y\r\n\r\n"), ==, WHEAD_UNSURE);
	CHECK_INT(check("GET / HTTP/2\r\nContent-Length: x\r\n\r\n"), ==, WHEAD_UNSURE);
	CHECK_INT(check("GET  / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), ==, WHEAD_UNSURE);
	CHECK_INT(check("GET / HTTP/1.1\r\nno colon\r\nContent-Length: x\r\n\r\n"), ==,
		  WHEAD_UNSURE);
	CHECK_INT(whead_check("GET / HTTP/1.1\r\nX: \0\r\n\r\n", 24, 10), ==, WHEAD_UNSURE);
}

T_MAIN(T(test_whead_content_length), T(test_whead_incomplete_or_not_ours))
