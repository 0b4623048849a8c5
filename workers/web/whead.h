/*
 * A request head as it sits in the socket before libmicrohttpd reads it
 * (pure, no I/O): is it complete, and is its Content-Length one the web
 * worker takes? MHD 0.9.75 answers a Content-Length it cannot parse with
 * its header block twice, so the worker answers those itself, first.
 * Anything it is not sure about is left to MHD.
 */
#ifndef LEAFMON_WHEAD_H
#define LEAFMON_WHEAD_H

#include <stddef.h>

enum whead_verdict {
	WHEAD_MORE,	/* no blank line yet */
	WHEAD_OK,	/* complete, nothing for us to answer */
	WHEAD_UNSURE,	/* not a request line we read, or folded lines: MHD decides */
	WHEAD_BAD,	/* 400: Content-Length not digits, or two that differ */
	WHEAD_TOO_LARGE /* 413: a body longer than the limit announced */
};

/* The head at p (n bytes, the start of a request). */
enum whead_verdict whead_check(const char *p, size_t n, unsigned long long body_max);

#endif
