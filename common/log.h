/*
 * Logging in the style of OpenBSD's log.h: one line per event on stderr,
 * with a journald priority prefix when stderr is the journal. log_warn()
 * appends strerror(errno); fatal() and fatalx() exit.
 */
#ifndef LEAFMON_LOG_H
#define LEAFMON_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

void log_init(const char *procname, int level);
void log_setlevel(int level);
int log_level_parse(const char *s); /* "debug".."error" -> LOG_*, -1 if unknown */
const char *log_level_name(int level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_msg(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int pri, const char *fmt, va_list ap);
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Rate limit for a repeated error: at most `burst` lines per `period_s`;
 * the next line that passes says how many were suppressed.
 */
struct log_rl {
	int64_t window_start_ns;
	unsigned burst;
	unsigned period_s;
	unsigned in_window;
	unsigned long suppressed;
};
#define LOG_RL_INIT(burst, period) {0, (burst), (period), 0, 0}
void log_rl(struct log_rl *rl, int pri, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
