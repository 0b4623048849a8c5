/*
 * Logging to stderr. Under systemd (JOURNAL_STREAM set) each line carries a
 * "<N>" priority prefix so journald keeps the level; otherwise a timestamp.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_proc = "leafmon";
static int log_level = LOG_INFO;
static int log_journal;

static const char *const level_names[] = {
    [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
    [LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

void
log_init(const char *procname, int level)
{
	log_proc = procname;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_level_parse(const char *s)
{
	if (strcmp(s, "warn") == 0)
		return LOG_WARNING;
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
log_level_name(int level)
{
	return (level >= 0 && level <= LOG_DEBUG) ? level_names[level] : "?";
}

void
log_vmsg(int pri, const char *fmt, va_list ap)
{
	char line[2048];

	if (pri > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", pri, log_proc, line);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%s]: %s\n", when, ts.tv_nsec / 1000000, log_proc,
			level_names[pri], line);
	}
}

void
log_msg(int pri, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(pri, fmt, ap);
	va_end(ap);
}

static void
log_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char msg[1800];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_msg(pri, "%s: %s", msg, strerror(saved));
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	log_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_rl(struct log_rl *rl, int pri, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (now - rl->window_start_ns > (int64_t)rl->period_s * 1000000000) {
		rl->window_start_ns = now;
		rl->in_window = 0;
	}
	if (rl->in_window >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->in_window++;
	if (rl->suppressed > 0) {
		log_msg(pri, "(%lu similar messages suppressed)", rl->suppressed);
		rl->suppressed = 0;
	}
	va_start(ap, fmt);
	log_vmsg(pri, fmt, ap);
	va_end(ap);
}
