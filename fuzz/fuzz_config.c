/*
 * fuzz_config: the INI config parser (config_load_string) on any text, then
 * what leafmond does with a config that loaded: dump it (tokens masked) and
 * diff it against the defaults.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct config cfg, dflt;
	char err[1024];
	char *text = malloc(len + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, len);
	text[len] = '\0';
	if (config_load_string(&cfg, text, "fuzz.conf", err, sizeof(err)) == 0) {
		config_defaults(&dflt);
		(void)config_diff(&dflt, &cfg);
		free(config_dump(&cfg));
	} else if (err[0] == '\0' || strlen(err) >= sizeof(err)) {
		abort(); /* an error must always say why */
	}
	free(text);
	return 0;
}
