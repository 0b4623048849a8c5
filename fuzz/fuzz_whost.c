/*
 * fuzz_whost: the Host header of a request without a password (DNS
 * rebinding check). Whatever is accepted is an address literal, localhost
 * or a listed name, with at most a port after it; nothing reads past the
 * string.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "whost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static const char names[] = "leaf.example.org, leafpi";

/* the part before an optional :port, as a literal or listed name */
static int
plausible(const char *h)
{
	char a[300];
	size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
	if (n >= sizeof(a))
		return 0;
	memcpy(a, h, n);
	a[n] = '\0';
	if (n > 0 && a[n - 1] == '.')
		a[n - 1] = '\0';
	struct in_addr v4;
	struct in6_addr v6;
	if (a[0] == '[') {
		a[strlen(a) - 1] = '\0';
		return inet_pton(AF_INET6, a + 1, &v6) == 1;
	}
	return inet_pton(AF_INET, a, &v4) == 1 || strcasecmp(a, "localhost") == 0 ||
	       strcasecmp(a, "leaf.example.org") == 0 || strcasecmp(a, "leafpi") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *h = malloc(len + 1);
	if (h == NULL)
		return 0;
	memcpy(h, data, len);
	h[len] = '\0';
	if (whost_allowed(h, names) && !plausible(h))
		abort();
	free(h);
	return 0;
}
