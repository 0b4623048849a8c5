/* Host values a request without a password may carry: literals, localhost,
 * the configured names (any case, a final dot, a port), nothing else. */
#include "t.h"
#include "whost.h"

static void
test_whost_literals_localhost_and_names(void)
{
	const char *names = "leaf.example.org, LeafPi  pi.local";
	static const char *const ok[] = {"127.0.0.1",
					 "192.168.4.1:8080",
					 "[::1]",
					 "[::1]:8080",
					 "[fe80::1]:80",
					 "localhost",
					 "LOCALHOST:8080",
					 "localhost.",
					 "leaf.example.org",
					 "Leaf.Example.Org.:443",
					 "leafpi",
					 "pi.local:8080"};
	static const char *const bad[] = {"evil.example",
					  "evil.example:8080",
					  "leaf.example.org.evil",
					  "example.org",
					  "127.0.0.1.nip.io",
					  "localhost.evil",
					  "",
					  ":8080",
					  "leafpi:",
					  "leafpi:123456",
					  "leafpi:80x",
					  "[::1",
					  "[::1]x",
					  "[nope]",
					  "1.2.3.4:8080:9",
					  "0x7f.1",
					  "127.1",
					  "leaf pi",
					  "leaf,pi"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!whost_allowed(ok[i], names))
			t_fail(__FILE__, __LINE__, "refused %s", ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (whost_allowed(bad[i], names))
			t_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
	CHECK(!whost_allowed("leafpi", ""));
	CHECK(whost_allowed("localhost", ""));
}

T_MAIN(T(test_whost_literals_localhost_and_names))
