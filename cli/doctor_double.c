/* The doctor as a test double (see doctor_double.h). */
#include "doctor_double.h"

#include <stdarg.h>
#include <stdio.h>

void
doctor_report(struct doctor *d, enum doctor_level lvl, const char *check, const char *fix,
	      const char *fmt, ...)
{
	static const char *const names[] = {"OK", "WARN", "FAIL", "SKIP"};
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	buf_printf(&d->out, "%s %s: %s\n", names[lvl], check, detail);
	d->n++;
	d->last = lvl;
	snprintf(d->check, sizeof(d->check), "%s", check);
}

const struct cli *
doctor_cli(const struct doctor *d)
{
	return &d->c;
}

const Status *
doctor_status(const struct doctor *d)
{
	return d->st;
}
