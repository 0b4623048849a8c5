/*
 * libFuzzer target for the log-format parsers: the input is a log file;
 * each line goes through logparse_line with the format fixed at build time
 * (FUZZ_FMT, LF_AUTO detects). Checks the parser's promises: a frame's
 * length fits its kind, an error comes with a reason, nothing reads past
 * the line (ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logfmt.h"

#ifndef FUZZ_FMT
#define FUZZ_FMT LF_AUTO
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logparse p;
	struct can_rec f;
	char err[200], *copy;
	size_t start = 0;

	logparse_init(&p, FUZZ_FMT, BUS_EV, 0);
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		/* an exact-size heap copy: ASan catches any read past the line */
		copy = malloc(i - start + 1);
		if (copy == NULL)
			return 0;
		memcpy(copy, data + start, i - start);
		err[0] = '\0';
		int r = logparse_line(&p, copy, i - start, &f, err, sizeof(err));
		if (r > 0 && (f.len > ((f.flags & CANF_FD) ? 64 : 8) || f.bus >= BUS_COUNT))
			abort();
		if (r < 0 && err[0] == '\0')
			abort();
		char line[200];
		if (r > 0 && logfmt_candump(line, sizeof(line), &f, "can0") <= 0)
			abort();
		free(copy);
		start = i + 1;
	}
	return 0;
}
