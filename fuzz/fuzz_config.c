/*
 * fuzz_config: the INI config parser (config_load_mem) on any bytes, NULs
 * included, then what leafmond does with a config that loaded: dump it
 * (tokens masked) and diff it against the defaults. An error must say why
 * and must never carry a raw control byte or invalid UTF-8 from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct config cfg, dflt;
	char err[1024];

	if (config_load_mem(&cfg, data, len, "fuzz.conf", err, sizeof(err)) == 0) {
		config_defaults(&dflt);
		(void)config_diff(&dflt, &cfg);
		char *dump = config_dump(&cfg);
		for (char *l = strtok(dump, "\n"); l != NULL; l = strtok(NULL, "\n"))
			if (!str_is_text(l, strlen(l)))
				abort(); /* every accepted value is printable text */
		free(dump);
	} else if (err[0] == '\0' || strlen(err) >= sizeof(err) || !str_is_text(err, strlen(err))) {
		abort(); /* an error must always say why, escaped */
	}
	return 0;
}
