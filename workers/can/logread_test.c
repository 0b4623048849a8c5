/*
 * The log reader: lines longer than LOGREAD_LINE_MAX skipped as one error
 * each and memory bounded whatever the input (a pipe of NUL bytes, as
 * `leafmon decode /dev/zero` reads), NUL bytes inside a line, stdin read
 * like a file (the bus clock's look-ahead included), the message when no
 * line is a frame, and the span the bus clock gives the real untimed logs.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode_run.h"
#include "logread.h"
#include "t.h"
#include "util.h"

static char *
tmpfile_with(const char *name, const void *data, size_t len)
{
	static char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write_all(fd, data, len) == (ssize_t)len);
	close(fd);
	return path;
}

/* the file tests again through logread_map (what `leafmon decode` does) */
static bool use_map;

static void
open_log(struct logread *r, const char *path)
{
	CHECK(logread_open(r, path, LF_AUTO, BUS_EV, 0) == 0);
	if (use_map && strncmp(path, "/dev/fd/", 8) != 0)
		CHECK(logread_map(r) == 0);
}

/* frames and errors (with the first error's text) of a whole file */
static void
read_all(const char *path, int *frames, int *errors, char *first, size_t firstlen)
{
	struct logread r;
	struct can_rec f;
	int k;

	*frames = *errors = 0;
	first[0] = '\0';
	open_log(&r, path);
	while ((k = logread_next(&r, &f)) != 0) {
		if (k > 0)
			(*frames)++;
		else if ((*errors)++ == 0)
			snprintf(first, firstlen, "%s", r.err);
	}
	logread_close(&r);
}

static void
test_logread_long_lines_one_error_each(void)
{
	struct buf b;
	int frames, errors;
	char first[600];

	buf_init(&b);
	buf_puts(&b, "(1700000000.000000) can0 1DB#00\n");
	for (int i = 0; i < 100000; i++)
		buf_putc(&b, 'x'); /* over the cap, over the 64 KiB buffer too */
	buf_puts(&b, "\n(1700000000.010000) can0 1DB#01\n");
	for (int i = 0; i < LOGREAD_LINE_MAX + 1; i++)
		buf_putc(&b, '(');
	buf_puts(&b, "\n(1700000000.020000) can0 1DB#02\n");
	buf_puts(&b, "(1700000000.030000) can0 1DB#03");
	for (int i = 0; i < LOGREAD_LINE_MAX - 40; i++)
		buf_putc(&b, ' '); /* long but under the cap: an ordinary line */
	buf_putc(&b, '\n');
	for (int i = 0; i < 9000; i++)
		buf_putc(&b, 'y'); /* the last line, no newline */
	read_all(tmpfile_with("long.log", b.p, b.len), &frames, &errors, first, sizeof(first));
	CHECK_INT(frames, ==, 4);
	CHECK_INT(errors, ==, 3); /* two long lines and the long last one */
	CHECK(strstr(first, "long.log:2: a line longer than 4096 bytes (skipped)") != NULL);
	buf_free(&b);
}

/* the frames of a file, in order: their ids' low bytes (data[0]) */
static int
read_ids(const char *path, unsigned char *ids, int cap, int *errors, uint64_t *long_lines)
{
	struct logread r;
	struct can_rec f;
	int k, n = 0;

	*errors = 0;
	open_log(&r, path);
	while ((k = logread_next(&r, &f)) != 0) {
		if (k < 0)
			(*errors)++;
		else if (n < cap)
			ids[n++] = f.len > 0 ? f.data[0] : 0xFF;
	}
	*long_lines = r.long_lines;
	logread_close(&r);
	return n;
}

/*
 * Lines cut by the 64 KiB reads: every line of a 1 MiB candump -l file
 * read whole, whatever the offset the reads cut it at (lines of varying
 * length put each byte of a line at some chunk edge), with LF or CRLF
 * ends, and the last line without its newline.
 */
static void
test_logread_lines_across_reads(void)
{
	static unsigned char ids[40000];
	struct buf b;
	int errors;
	uint64_t longs;

	for (int crlf = 0; crlf < 2; crlf++) {
		int want = 0;
		buf_init(&b);
		while (b.len < (1u << 20)) {
			buf_printf(&b, "(1700000000.%06d) can0 1DB#%02X", want % 1000000, want & 0xFF);
			for (int i = 0; i < want % 8; i++)
				buf_puts(&b, "00");
			buf_puts(&b, crlf ? "\r\n" : "\n");
			want++;
		}
		b.len -= crlf ? 2 : 1; /* the last line ends without a newline */
		int n = read_ids(tmpfile_with("chunks.log", b.p, b.len), ids, (int)sizeof(ids),
				 &errors, &longs);
		CHECK_INT(n, ==, want);
		CHECK_INT(errors, ==, 0);
		for (int i = 0; i < n && i < (int)sizeof(ids); i++)
			if (ids[i] != (unsigned char)(i & 0xFF))
				t_fail(__FILE__, __LINE__, "frame %d: %02X", i, ids[i]);
		buf_free(&b);
	}
}

/* a line over the cap that starts in one read and ends reads later is one
 * counted error; the lines around it are read whole */
static void
test_logread_long_line_across_reads(void)
{
	unsigned char ids[8];
	struct buf b;
	int errors;
	uint64_t longs;

	int fill = 0;
	buf_init(&b);
	for (; b.len < 65536 - 100; fill++) /* each one a counted error: no format */
		buf_puts(&b, "# filler line for the first read, no frame in it at all.\n");
	buf_puts(&b, "(1700000000.000000) can0 1DB#01\n");
	for (int i = 0; i < 3 * 65536; i++)
		buf_putc(&b, i % 61 ? 'z' : '\r'); /* crosses three read edges */
	buf_puts(&b, "\r\n(1700000000.010000) can0 1DB#02\r\n");
	for (int i = 0; i < LOGREAD_LINE_MAX; i++)
		buf_putc(&b, ' '); /* exactly the cap: an ordinary line (a bad one) */
	buf_puts(&b, "\n(1700000000.020000) can0 1DB#03");
	char first[600];
	int frames;
	const char *path = tmpfile_with("across.log", b.p, b.len);
	int n = read_ids(path, ids, 8, &errors, &longs);
	CHECK_INT(n, ==, 3);
	CHECK_INT(ids[0], ==, 1);
	CHECK_INT(ids[1], ==, 2);
	CHECK_INT(ids[2], ==, 3);
	CHECK_INT(longs, ==, 1);
	CHECK_INT(errors, ==, fill + 2); /* the fillers, the long line, the blanks */
	read_all(path, &frames, &errors, first, sizeof(first));
	CHECK(strstr(first, "across.log:1: not a CAN log line") != NULL);
	buf_free(&b);
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* what `leafmon decode /dev/zero` reads: no newline ever; 64 MiB of it here */
static void
test_logread_nul_stream_bounded(void)
{
	static char zeros[1 << 16];
	int pfd[2];
	pid_t pid;
	char path[64], first[600];
	int frames, errors;
	long before = maxrss_kb();

	CHECK(pipe(pfd) == 0);
	if ((pid = fork()) == 0) {
		close(pfd[0]);
		for (int i = 0; i < 1024; i++)
			if (write_all(pfd[1], zeros, sizeof(zeros)) < 0)
				_exit(1);
		const char *tail = "\n(1700000000.000000) can0 1DB#00\n";
		_exit(write_all(pfd[1], tail, strlen(tail)) < 0);
	}
	close(pfd[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", pfd[0]);
	read_all(path, &frames, &errors, first, sizeof(first));
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	CHECK_INT(frames, ==, 1);
	CHECK_INT(errors, ==, 1); /* one error for the one 64 MiB line */
	CHECK(strstr(first, ":1: a line longer than") != NULL);
	CHECK(maxrss_kb() - before < 8 * 1024); /* getline took all 64 MiB */
}

static void
test_logread_nul_bytes_are_data(void)
{
	static const char row[] =
	    "NO\0\0Direction\0\0Time Scale\0\0Frame Type\r\n"
	    "0\0\0Receive\0\00012:00:00:000\0\0Data frame\0\0Standard frame\0\0"
	    "000001db\0\0002\0\0AA BB\r\n";
	int frames, errors;
	char first[600];

	read_all(tmpfile_with("usbcan.txt", row, sizeof(row) - 1), &frames, &errors, first,
		 sizeof(first));
	CHECK_INT(frames, ==, 1);
	CHECK_INT(errors, ==, 0);
}

/* an untimed log through a pipe gets the times it gets as a file */
static void
test_logread_stdin_like_a_file(void)
{
	struct buf b;
	struct logread fr, pr;
	struct can_rec f, g;
	int pfd[2], n = 0, k;
	int64_t last = -1;
	pid_t pid;
	char path[64];

	buf_init(&b);
	for (int c = 0; c < 3000; c++) {
		buf_puts(&b, "  can0  1DB   [8]  00 00 00 00 00 00 00 00\n");
		buf_puts(&b, "  can0  1DC   [8]  00 00 00 00 00 00 00 00\n");
		if (c % 10 == 0)
			buf_puts(&b, "  can0  55B   [8]  00 00 00 00 00 00 00 00\n");
	}
	const char *file = tmpfile_with("untimed.txt", b.p, b.len);
	CHECK(pipe(pfd) == 0);
	if ((pid = fork()) == 0) {
		close(pfd[0]);
		_exit(write_all(pfd[1], b.p, b.len) < 0);
	}
	close(pfd[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", pfd[0]);
	CHECK(logread_open(&fr, file, LF_AUTO, BUS_EV, 0) == 0);
	CHECK(logread_open(&pr, path, LF_AUTO, BUS_EV, 0) == 0);
	while ((k = logread_next(&fr, &f)) > 0) {
		CHECK_INT(logread_next(&pr, &g), ==, 1);
		CHECK_INT(g.t_ns, ==, f.t_ns);
		CHECK_INT(g.id, ==, f.id);
		last = f.t_ns;
		n++;
	}
	CHECK_INT(logread_next(&pr, &g), ==, 0);
	CHECK_INT(n, ==, 6300);
	CHECK(last >= 29990000000LL && last < 30000000000LL); /* 3000 ticks of 10 ms */
	char note[200];
	logread_time_note(&fr, note, sizeof(note));
	CHECK_STR(note, "times estimated from the bus clock: 0x1DB every 10 ms, 3000 ticks");
	logread_close(&fr);
	logread_close(&pr);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	buf_free(&b);
}

static void
test_logread_no_frames_says_why(void)
{
	struct decode_opts o;
	char *text = NULL;
	size_t len = 0;
	FILE *errf;
	const char *junk = tmpfile_with("junk.txt", "hello\nworld\n", 12);

	decode_opts_init(&o);
	errf = open_memstream(&text, &len);
	CHECK(decode_file(junk, &o, stdout, errf) == -1);
	fclose(errf);
	CHECK(strstr(text, "junk.txt:1: not a CAN log line") != NULL);
	CHECK(strstr(text, "no line of ") != NULL);
	CHECK(strstr(text, "Vector ASC, PEAK TRC") != NULL);
	free(text);
	errf = open_memstream(&text, &len);
	CHECK(decode_file(tmpfile_with("empty.log", "", 0), &o, stdout, errf) == -1);
	fclose(errf);
	CHECK(strstr(text, "empty.log is empty") != NULL);
	free(text);
}

/* The figures: the ZE1 quick charge is about 16 s of the car's time. */
static void
test_logread_untimed_real_logs_span(void)
{
	static const struct {
		const char *rel;
		int64_t lo_ms, hi_ms;
	} logs[] = {
	    {"logs/ze1_2018plus/EV_can-bus_from_62_ZE1_QCcharging.txt", 15500, 16500},
	    {"logs/ze1_2018plus/EV_can-bus_from_62_ZE1.txt", 5400, 6000},
	    {"logs/ze1_2018plus/62kWh-Battery-only-EVcan.txt", 4300, 4900},
	};
	for (size_t i = 0; i < ARRAY_LEN(logs); i++) {
		const char *path = t_data(logs[i].rel);
		struct logread r;
		struct can_rec f;
		int64_t last = 0;
		int k;

		if (path == NULL)
			return;
		CHECK(logread_open(&r, path, LF_AUTO, BUS_EV, 0) == 0);
		while ((k = logread_next(&r, &f)) != 0)
			if (k > 0)
				last = f.t_ns;
		if (last < logs[i].lo_ms * 1000000 || last > logs[i].hi_ms * 1000000)
			t_fail(__FILE__, __LINE__, "%s spans %.3f s", logs[i].rel, last / 1e9);
		logread_close(&r);
	}
}

static void
test_logread_mapped_reads_the_same(void)
{
	struct logread r;

	use_map = true;
	test_logread_long_lines_one_error_each();
	test_logread_lines_across_reads();
	test_logread_long_line_across_reads();
	test_logread_nul_bytes_are_data();
	use_map = false;
	CHECK(logread_open(&r, "/dev/null", LF_AUTO, BUS_EV, 0) == 0);
	CHECK_INT(logread_map(&r), ==, -1); /* not a regular file: read(2) stays */
	logread_close(&r);
	CHECK(logread_open(&r, tmpfile_with("empty.log", "", 0), LF_AUTO, BUS_EV, 0) == 0);
	CHECK_INT(logread_map(&r), ==, -1);
	logread_close(&r);
}

T_MAIN(T(test_logread_long_lines_one_error_each), T(test_logread_lines_across_reads),
       T(test_logread_long_line_across_reads), T(test_logread_nul_stream_bounded),
       T(test_logread_nul_bytes_are_data), T(test_logread_stdin_like_a_file),
       T(test_logread_no_frames_says_why), T(test_logread_untimed_real_logs_span),
       T(test_logread_mapped_reads_the_same))
