/*
 * The Host header of a request without a password (pure): a page on some
 * other site whose name was made to resolve to this machine (DNS rebinding)
 * sends its own name, so only names that mean this server are taken: an IP
 * literal (v4, or [v6]), localhost, or one of the configured names.
 */
#ifndef LEAFMON_WHOST_H
#define LEAFMON_WHOST_H

#include <stdbool.h>

/* host: the header's value (name or literal, optional :port). names: a list
 * separated by commas or blanks, compared without case and a final dot. */
bool whost_allowed(const char *host, const char *names);

#endif
