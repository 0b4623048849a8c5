/*
 * fuzz_ledger_since: the `since` of /api/trips|charges|parks|battery|monthly
 * and of the CLI's --since (lq_parse_since), as a client can send it. A
 * rejection leaves a message that is printable text whatever bytes came (it
 * is echoed in the 400 answer); an acceptance is a time in the past, at most
 * 200 years back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const int64_t now = 1800000000LL * NSEC_PER_SEC;
	char s[256];
	struct lq_err e;
	int64_t ns;

	if (len >= sizeof(s))
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (lq_parse_since(s, now, &ns, &e) < 0) {
		if (e.msg[0] == '\0' || !str_is_text(e.msg, strlen(e.msg)))
			abort();
	} else if (ns > now + 2 * 86400 * NSEC_PER_SEC && strchr(s, '-') == NULL) {
		abort(); /* a duration never lies ahead */
	} else if (ns < now - 201LL * 366 * 86400 * NSEC_PER_SEC && strchr(s, '-') == NULL) {
		abort();
	}
	return 0;
}
