/*
 * Host header checks: split off the port, then an address literal is
 * always this server (an attacker's page cannot be served from it), a name
 * only when listed.
 */
#include "whost.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 253

/* nothing, or ":" and 1 to 5 digits */
static bool
port_ok(const char *p)
{
	if (p[0] == '\0')
		return true;
	size_t n = strspn(p + 1, "0123456789");
	return p[0] == ':' && n >= 1 && n <= 5 && p[1 + n] == '\0';
}

/* name (len bytes) is one of the list's entries */
static bool
listed(const char *name, size_t len, const char *names)
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	for (const char *p = names; *p;) {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		size_t m = n > 0 && p[n - 1] == '.' ? n - 1 : n;
		if (m == len && len > 0 && strncasecmp(p, name, len) == 0)
			return true;
		p += n;
	}
	return false;
}

bool
whost_allowed(const char *host, const char *names)
{
	char lit[64];
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		if (end == NULL || (size_t)(end - host - 1) >= sizeof(lit) || !port_ok(end + 1))
			return false;
		memcpy(lit, host + 1, (size_t)(end - host - 1));
		lit[end - host - 1] = '\0';
		struct in6_addr a6;
		return inet_pton(AF_INET6, lit, &a6) == 1;
	}
	size_t len = strcspn(host, ":");
	if (len == 0 || len > NAME_MAX_LEN || !port_ok(host + len))
		return false;
	memcpy(lit, host, len < sizeof(lit) ? len : sizeof(lit) - 1);
	lit[len < sizeof(lit) ? len : sizeof(lit) - 1] = '\0';
	struct in_addr a4;
	if (len < sizeof(lit) && inet_pton(AF_INET, lit, &a4) == 1)
		return true;
	return listed(host, len, "localhost") || listed(host, len, names);
}
