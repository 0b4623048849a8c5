/*
 * Log-format parser tests: hand-written lines for every format and every
 * candump -l variant (the PC tools' formats written from their published
 * descriptions, never taken from a log), the time rules, errors, and the
 * real logs' frame counts from LEAF-CAN.md section 7.
 */
#include <stdlib.h>

#include "logfmt.h"
#include "logfmt_int.h"
#include "logread.h"
#include "t.h"

static int
one(struct logparse *p, const char *line, struct can_rec *f)
{
	char err[200];

	return logparse_line(p, line, strlen(line), f, err, sizeof(err));
}

static void
test_logfmt_candump_log(void)
{
	struct logparse p;
	struct can_rec f;

	logparse_init(&p, LF_AUTO, BUS_CAR, 0);
	CHECK_INT(one(&p, "(1700000000.123456) can0 1DB#0004C26200000386\n", &f), ==, 1);
	CHECK_INT(p.fmt, ==, LF_CANDUMP_LOG);
	CHECK_INT(f.id, ==, 0x1DB);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(f.data[2], ==, 0xC2);
	CHECK_INT(f.t_ns, ==, 1700000000123456000LL);
	CHECK_INT(f.bus, ==, BUS_CAR);
	CHECK_INT(f.flags, ==, 0);
	CHECK_INT(one(&p, "(1700000000.2) can1 5BC#1122 R", &f), ==, 1);
	CHECK_INT(f.len, ==, 2);
	CHECK_INT(f.t_ns, ==, 1700000000200000000LL);
	CHECK_INT(one(&p, "(1700000000.3) can1 5BC#1122 T", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_TX);
	CHECK_INT(one(&p, "(1700000000.4) can0 18CC078C#0102", &f), ==, 1);
	CHECK_INT(f.id, ==, 0x18CC078C);
	CHECK_INT(f.flags, ==, CANF_EXT);
	CHECK_INT(one(&p, "(1700000000.5) can0 79B#R", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_RTR);
	CHECK_INT(one(&p, "(1700000000.6) can0 123##1" "00112233445566778899", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_FD);
	CHECK_INT(f.len, ==, 10);
	CHECK_INT(f.data[9], ==, 0x99);
	CHECK_INT(one(&p, "(1700000000.7) ev 1DB#", &f), ==, 1);
	CHECK_INT(f.len, ==, 0);
	CHECK_INT(f.bus, ==, BUS_EV); /* our recorder names the bus */
	CHECK_INT(one(&p, "(1700000000.8) can0 20000004#0000000000000000", &f), ==, 1);
	CHECK(f.flags & CANF_ERR);
	/* errors */
	CHECK_INT(one(&p, "(1700000000.9) can0 1DB#123", &f), ==, -1);   /* odd digits */
	CHECK_INT(one(&p, "(1700000000.9) can0 1DB#00112233445566778899", &f), ==, -1);
	CHECK_INT(one(&p, "(1700000000.9) can0 1D#00", &f), ==, -1);	  /* 2-digit id */
	CHECK_INT(one(&p, "(abc) can0 1DB#00", &f), ==, -1);
	CHECK_INT(one(&p, "(1700000000.9) can0 1DB#00 X", &f), ==, -1);
	CHECK_INT(p.errors, ==, 5);
	/* relative candump times start at start_ns */
	logparse_init(&p, LF_AUTO, BUS_EV, 5000000000LL);
	CHECK_INT(one(&p, "(12.500000) can0 1DB#00", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 5000000000LL);
	CHECK_INT(one(&p, "(12.510000) can0 1DB#00", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 5010000000LL);
}

/* the hex table is the digits' values and nothing else */
static void
test_logfmt_hex_table(void)
{
	for (int c = 0; c < 256; c++) {
		int want = c >= '0' && c <= '9'	  ? c - '0'
			   : c >= 'a' && c <= 'f' ? c - 'a' + 10
			   : c >= 'A' && c <= 'F' ? c - 'A' + 10
						  : -1;
		CHECK_INT(logfmt_hex[c], ==, want);
	}
}

/* a random candump -l line, mostly the usual shape, often not */
static size_t
odd_candump_line(char *b, size_t cap, unsigned i)
{
	static const char *const ifc[] = {"can0", "ev", "car", "qc", "av", "e", "vcan10", "evx"};
	static const char *const tail[] = {"", "", "", "", " T", " R", "\t", "x"};
	static const char *const dec[] = {"123456", "1", "", "123456789", "1234567890", "00"};
	static const char *const ip[] = {"1700000000", "12", "0", "9223372036", "9223372037",
					 "17000000000", "1700000000"};
	unsigned r = (unsigned)rand();
	int id_digits = r % 8 < 5 ? 3 : r % 8 == 5 ? 8 : (int)(r % 10);
	size_t n = (size_t)snprintf(b, cap, "(%s%s%s)%s%s ", ip[i % 7], (r >> 3) % 9 ? "." : "",
				    dec[(r >> 5) % 6], (r >> 8) % 7 ? " " : "\t",
				    ifc[(r >> 11) % 8]);
	for (int d = 0; d < id_digits; d++)
		b[n++] = "0123456789ABCDEFabcdef"[(unsigned)rand() % (d == 0 && id_digits == 8 ? 22 : 16)];
	b[n++] = (r >> 14) % 13 ? '#' : ':';
	int nd = (int)((r >> 18) % 19); /* hex digits of data, odd ones too */
	for (int d = 0; d < nd; d++)
		b[n++] = "0123456789ABCDEFabcdef#Rr"[(unsigned)rand() % ((r >> 23) % 5 ? 22 : 25)];
	n += (size_t)snprintf(b + n, cap - n, "%s", tail[(r >> 26) % 8]);
	return n;
}

/*
 * The fast path gives what the full parser gives: a trailing blank makes
 * every line go the full way (only the fast path refuses it), so each line
 * with and without one must parse alike, frame for frame.
 */
static void
test_logfmt_candump_fast_matches_full(void)
{
	struct logparse a, b;
	char line[256], err[200], err2[200];
	int ok = 0;

	srand(13);
	logparse_init(&a, LF_CANDUMP_LOG, BUS_CAR, 0);
	logparse_init(&b, LF_CANDUMP_LOG, BUS_CAR, 0);
	for (unsigned i = 0; i < 200000; i++) {
		struct can_rec f, g;
		size_t n = odd_candump_line(line, sizeof(line) - 2, i);
		int ra = logparse_line(&a, line, n, &f, err, sizeof(err));
		line[n] = ' ';
		int rb = logparse_line(&b, line, n + 1, &g, err2, sizeof(err2));
		line[n] = '\0';
		if (ra != rb)
			t_fail(__FILE__, __LINE__, "'%s': %d, with a blank %d (%s)", line, ra, rb, rb < 0 ? err2 : err);
		if (ra <= 0)
			continue;
		ok++;
		CHECK_INT(f.t_ns, ==, g.t_ns);
		CHECK_INT(f.id, ==, g.id);
		CHECK_INT(f.flags, ==, g.flags);
		CHECK_INT(f.bus, ==, g.bus);
		CHECK_INT(f.len, ==, g.len);
		CHECK(memcmp(f.data, g.data, f.len) == 0);
	}
	CHECK(ok > 20000);
	/* the shapes the fast path takes, read right */
	struct can_rec f;
	logparse_init(&a, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&a, "(1700000000.000001) car 5BC#0011223344556677", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 1700000000000001000LL);
	CHECK_INT(f.bus, ==, BUS_CAR);
	CHECK_INT(f.data[7], ==, 0x77);
	CHECK_INT(one(&a, "(1700000000.5) can0 8AB#ff", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_EXT); /* 3 digits but over 0x7FF */
	CHECK_INT(f.t_ns, ==, 1700000000500000000LL);
	CHECK_INT(one(&a, "(1700000000.000002) qc 1DB#00\r\n", &f), ==, 1);
	CHECK_INT(f.bus, ==, BUS_QC);
	CHECK_INT(one(&a, "(1700000000.000003) evx 1DB#00", &f), ==, 1);
	CHECK_INT(f.bus, ==, BUS_EV); /* not a bus name: the log's bus */
	CHECK_INT(one(&a, "(9223372036.854775) ev 1DB#00", &f), ==, 1); /* the last second */
	CHECK_INT(f.t_ns, ==, 9223372036854775000LL);
	CHECK_INT(one(&a, "(9223372036.854775808) ev 1DB#00", &f), ==, -1); /* past INT64_MAX */
}

static void
test_logfmt_candump_roundtrip(void)
{
	struct logparse p;
	struct can_rec f = {0}, g;
	char line[200];

	f.t_ns = 1700000000123456000LL;
	f.id = 0x5BC;
	f.len = 8;
	for (int i = 0; i < 8; i++)
		f.data[i] = (uint8_t)(i * 37);
	CHECK(logfmt_candump(line, sizeof(line), &f, "can0") > 0);
	CHECK_STR(line, "(1700000000.123456) can0 5BC#00254A6F94B9DE03\n");
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, line, &g), ==, 1);
	CHECK(memcmp(f.data, g.data, 8) == 0 && g.t_ns == f.t_ns && g.id == f.id);
	f.flags = CANF_EXT | CANF_TX;
	f.id = 0x18DAF1DB;
	CHECK(logfmt_candump(line, sizeof(line), &f, "car") > 0);
	CHECK_INT(one(&p, line, &g), ==, 1);
	CHECK_INT(g.flags, ==, CANF_EXT | CANF_TX);
	CHECK_INT(g.bus, ==, BUS_CAR);
}

static void
test_logfmt_text_untimed(void)
{
	struct logparse p;
	struct can_rec f;

	logparse_init(&p, LF_AUTO, BUS_EV, 1000);
	CHECK_INT(one(&p, "  can0  1DB   [8]  00 04 C2 62 00 00 03 B6\n", &f), ==, 1);
	CHECK_INT(p.fmt, ==, LF_CANDUMP_TXT);
	CHECK(p.untimed); /* the reader's bus clock gives it a time (logclock_test) */
	CHECK_INT(one(&p, "  can0  1ED   [3]  FF E3 62", &f), ==, 1);
	CHECK_INT(f.len, ==, 3);
	CHECK(p.untimed);
	CHECK_INT(one(&p, "  can0  1ED   [3]  FF E3", &f), ==, -1);
	CHECK_INT(one(&p, "smileyscout@host:~$ candump can0", &f), ==, -1);
	CHECK_INT(one(&p, "", &f), ==, 0);
	CHECK(!p.untimed);
	/* an untimed log stays untimed */
	CHECK_INT(one(&p, " (1700000000.000000) can0  120   [4]  00 00 04 9B", &f), ==, 1);
	CHECK(p.untimed);
	/* and a timed one timed */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, " (1700000000.000000)  can0  120   [4]  00 00 04 9B", &f), ==, 1);
	CHECK(!p.untimed);
	CHECK_INT(f.t_ns, ==, 1700000000000000000LL);
	CHECK_INT(one(&p, "  can0  120   [4]  00 00 04 9B", &f), ==, -1);
}

static void
test_logfmt_gvret(void)
{
	struct logparse p;
	struct can_rec f;

	logparse_init(&p, LF_AUTO, BUS_QC, 0);
	CHECK_INT(one(&p, "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n", &f), ==, 0);
	CHECK_INT(p.fmt, ==, LF_GVRET);
	/* negative, descending magnitudes: anchor at the first, move forward */
	CHECK_INT(one(&p, "-1600000000500000,00000109,false,Rx,0,8,01,7B,01,64,00,00,00,00,", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 1600000000500000000LL);
	CHECK_INT(f.id, ==, 0x109);
	CHECK_INT(f.bus, ==, BUS_QC);
	CHECK_INT(f.data[3], ==, 0x64);
	CHECK_INT(one(&p, "-1600000000490000,18CC078C,true,Tx,1,2,AA,BB,", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 1600000000510000000LL);
	CHECK_INT(f.flags, ==, CANF_EXT | CANF_TX);
	CHECK_INT(f.bus, ==, 1);
	CHECK_INT(f.len, ==, 2);
	CHECK_INT(one(&p, "-1600000000480000,109,maybe,Rx,0,1,00,", &f), ==, -1);
	/* positive small times are relative */
	logparse_init(&p, LF_GVRET, BUS_EV, 0);
	CHECK_INT(one(&p, "2000000,1DB,false,Rx,0,0,", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 0);
	CHECK_INT(one(&p, "2500000,1DB,false,Rx,0,0,", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 500000000);
	/* a jump across the int64 range (found by fuzz_logfmt_gvret): refused,
	 * no signed overflow (the UBSan build checks the "no") */
	logparse_init(&p, LF_GVRET, BUS_EV, 0);
	CHECK_INT(one(&p, "-8168467642934449,1,false,Rx,0,0", &f), ==, 1);
	CHECK_INT(one(&p, "-6,0,false,Rx,0,0,", &f), ==, -1);
}

static void
test_logfmt_crtd(void)
{
	struct logparse p;
	struct can_rec f;

	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "1600000000.000001 CXX OVMS CRTD", &f), ==, 0);
	CHECK_INT(p.fmt, ==, LF_CRTD);
	CHECK_INT(one(&p, "1600000000.100000 2CER Error intr=1 rxpkt=2", &f), ==, 0);
	CHECK_INT(one(&p, "1600000000.200000 1CEV Event vehicle.on", &f), ==, 0);
	CHECK_INT(one(&p, "1600000000.300000 2R11 5c5 44 00 00 11", &f), ==, 1);
	CHECK_INT(f.bus, ==, BUS_CAR);
	CHECK_INT(f.id, ==, 0x5C5);
	CHECK_INT(f.len, ==, 4);
	CHECK_INT(f.t_ns, ==, 1600000000300000000LL);
	CHECK_INT(one(&p, "1600000000.400000 1T11 797 03 22 12 05", &f), ==, 1);
	CHECK_INT(f.bus, ==, BUS_EV);
	CHECK_INT(f.flags, ==, CANF_TX);
	CHECK_INT(one(&p, "1600000000.500000 1R29 18ff50e5 01", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_EXT);
	CHECK_INT(one(&p, "1600000000.600000 9R11 5c5 00", &f), ==, -1);
	CHECK_INT(one(&p, "1600000000.600000 1R11 5c5 0", &f), ==, -1);
}

static void
test_logfmt_exports(void)
{
	struct logparse p;
	struct can_rec f;

	/* tab export, ms times, relative */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "ParserFlags\tCh\tCounter\tT/R\tTime\tFlags\tCAN ID\tLen\tData\t\n", &f), ==, 0);
	CHECK_INT(p.fmt, ==, LF_TABEXP);
	CHECK_INT(one(&p, "1\t0\t1\tRX\t500100\t\t0x000001db\t8\t0x00 04 c2 62 00 00 03 b6 \t\n", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 0);
	CHECK_INT(f.data[7], ==, 0xB6);
	CHECK_INT(one(&p, "1\t0\t2\tRX\t500112\t\t0x0000011a\t8\t0x00 00 00 00 00 00 00 00 \tDefault Parser\t", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 12000000);
	CHECK_INT(one(&p, "1\t0\t3\tRX\t500113\t\t0x0000011a\t8\t0x00 00\t", &f), ==, -1);
	/* space export, relative seconds */
	logparse_init(&p, LF_AUTO, BUS_EV, 100);
	CHECK_INT(one(&p, "0001.500000 000001F2 8 10 64 00 00 00 1E 02 0E\n", &f), ==, 1);
	CHECK_INT(p.fmt, ==, LF_SPACEEXP);
	CHECK_INT(f.t_ns, ==, 100);
	CHECK_INT(f.id, ==, 0x1F2);
	CHECK_INT(f.flags, ==, 0);
	CHECK_INT(one(&p, "0001.500246 18DAF1DB 2 10 64", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, 100 + 246000);
	CHECK_INT(f.flags, ==, CANF_EXT);
	/* the old system's TSV */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "# Timestamp(s)\tCAN_ID\tDLC\tData\n", &f), ==, 0);
	CHECK_INT(p.fmt, ==, LF_TSV);
	CHECK_INT(one(&p, "0.250000\t351\t8\t0B B8 00 00 00 00 00 00\n", &f), ==, 1);
	CHECK_INT(f.id, ==, 0x351);
	CHECK_INT(one(&p, "0.260000\t351\t2\t0B\n", &f), ==, -1);
	/* nothing recognisable */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "hello world", &f), ==, -1);
	CHECK_INT(p.fmt, ==, LF_AUTO);
}

static int
one_len(struct logparse *p, const char *line, size_t len, struct can_rec *f)
{
	char err[200] = "";
	int r = logparse_line(p, line, len, f, err, sizeof(err));

	if (r < 0 && err[0] == '\0')
		t_fail(__FILE__, __LINE__, "an error without a reason");
	return r;
}

/* ASC: the header, classic, extended, remote, error and FD lines, events */
static void
test_logfmt_asc(void)
{
	struct logparse p;
	struct can_rec f;
	const int64_t t0 = 1397640073159000000LL; /* 2014-04-16 09:21:13.159 */

	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "date Wed Apr 16 09:21:13.159 am 2014\r\n", &f), ==, 0);
	CHECK_INT(p.fmt, ==, LF_ASC);
	CHECK_INT(one(&p, "base hex  timestamps absolute", &f), ==, 0);
	CHECK_INT(one(&p, "internal events logged", &f), ==, 0);
	CHECK_INT(one(&p, "// version 8.2.1", &f), ==, 0);
	CHECK_INT(one(&p, "Begin Triggerblock Wed Apr 16 09:21:13.159 am 2014", &f), ==, 0);
	CHECK_INT(one(&p, "   0.000000 Start of measurement", &f), ==, 0);
	CHECK_INT(one(&p,
		      "   0.010000 1  1DB             Rx   d 8 00 11 22 33 44 55 66 77  "
		      "Length = 230000 BitCount = 119 ID = 475",
		      &f),
		  ==, 1);
	CHECK_INT(f.id, ==, 0x1DB);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(f.data[7], ==, 0x77);
	CHECK_INT(f.flags, ==, 0);
	CHECK_INT(f.bus, ==, BUS_EV);
	CHECK_INT(f.t_ns, ==, t0 + 10000000);
	CHECK_INT(one(&p, "   0.020000 2  18DAF1DBx       Tx   d 2 AA BB", &f), ==, 1);
	CHECK_INT(f.id, ==, 0x18DAF1DB);
	CHECK_INT(f.flags, ==, CANF_EXT | CANF_TX);
	CHECK_INT(f.bus, ==, BUS_CAR); /* channel 2 */
	CHECK_INT(one(&p, "   0.030000 1  79B             Rx   r", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_RTR);
	CHECK_INT(one(&p, "   0.030500 1  79B             Rx   r 8", &f), ==, 1);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(one(&p, "   0.040000 1  ErrorFrame", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_ERR);
	CHECK_INT(one(&p,
		      "   0.050000 CANFD   1 Rx        123  LBC_Status                       1 0 "
		      "9 12 00 01 02 03 04 05 06 07 08 09 0A 0B   102000  218 303000 c0fe 0 0 0 0",
		      &f),
		  ==, 1);
	CHECK_INT(f.flags, ==, CANF_FD);
	CHECK_INT(f.len, ==, 12);
	CHECK_INT(f.data[11], ==, 0x0B);
	CHECK_INT(one(&p,
		      "   0.060000 CANFD   3 Tx        5BCx    0 1 8  8 "
		      "01 02 03 04 05 06 07 08  50000 130 1000 0 0 0 0 0",
		      &f),
		  ==, 1);
	CHECK_INT(f.flags, ==, CANF_FD | CANF_EXT | CANF_TX);
	CHECK_INT(f.bus, ==, BUS_QC);
	CHECK_INT(f.t_ns, ==, t0 + 60000000);
	CHECK_INT(one(&p, "   0.070000 1  Statistic: D 0 R 0 XD 0 XR 0 E 0 O 0 B 0.00%", &f), ==,
		  0);
	CHECK_INT(one(&p, "   0.080000 CAN 1 Status:chip status error active", &f), ==, 0);
	CHECK_INT(one(&p, "End TriggerBlock", &f), ==, 0);
	/* errors: a short frame, a channel we do not map, a bad FD length */
	CHECK_INT(one(&p, "   0.090000 1  1DB   Rx   d 8 00 11", &f), ==, -1);
	CHECK_INT(one(&p, "   0.090000 9  1DB   Rx   d 1 00", &f), ==, -1);
	CHECK_INT(one(&p, "   0.090000 CANFD 1 Rx 123 1 0 9 8 00", &f), ==, -1);
	CHECK_INT(one(&p, "date Someday", &f), ==, -1);
	/* found by fuzz_logfmt_asc: a date past 2262 overflowed int64 ns */
	CHECK_INT(one(&p, "date Wed Apr 16 09:21:13.159 am 4028", &f), ==, -1);
	/* the date is local time: two hours east of UTC */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	p.utc_off_s = 7200;
	CHECK_INT(one(&p, "date Wed Apr 16 09:21:13.159 pm 2014", &f), ==, 0);
	CHECK_INT(one(&p, "0.5 1 1DB Rx d 1 00", &f), ==, 1);
	CHECK_INT(f.t_ns, ==, t0 + 12 * 3600000000000LL - 7200000000000LL + 500000000);
	/* no date: relative from --start; decimal base; each time since the one before */
	logparse_init(&p, LF_AUTO, BUS_EV, 1000);
	CHECK_INT(one(&p, "base dec  timestamps relative", &f), ==, 0);
	CHECK_INT(one(&p, "  0.010000 1  475  Rx   d 2 0 255", &f), ==, 1);
	CHECK_INT(f.id, ==, 0x1DB);
	CHECK_INT(f.data[1], ==, 255);
	CHECK_INT(f.t_ns, ==, 1000);
	CHECK_INT(one(&p, "  0.005000 1  475  Rx   d 1 16", &f), ==, 1);
	CHECK_INT(f.data[0], ==, 16);
	CHECK_INT(f.t_ns, ==, 1000 + 5000000);
	CHECK_INT(one(&p, "  0.005000 1  475  Rx   d 1 256", &f), ==, -1);
	/* frame lines without a header are detected too */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "   2.501000 1  5BC             Rx   d 8 01 02 03 04 05 06 07 08", &f),
		  ==, 1);
	CHECK_INT(p.fmt, ==, LF_ASC);
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "0.000100 CANFD 1 Rx 1DB 0 0 2 2 AA BB 0 0 0 0 0 0 0 0", &f), ==, 1);
	CHECK_INT(p.fmt, ==, LF_ASC);
}

/* PEAK TRC 1.1, 2.0, 2.1 and the headerless 1.0 */
static void
test_logfmt_trc(void)
{
	struct logparse p;
	struct can_rec f;
	const int64_t t0 = 1397552400000000000LL; /* $STARTTIME=41744.375: 2014-04-15 09:00 */

	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, ";$FILEVERSION=1.1", &f), ==, 0);
	CHECK_INT(p.fmt, ==, LF_TRC);
	CHECK_INT(one(&p, ";$STARTTIME=41744.375", &f), ==, 0);
	CHECK_INT(one(&p, ";   Message Number", &f), ==, 0);
	CHECK_INT(one(&p, ";---+--   ----+----  --+--  ----+---  +  -+ -- -- -- -- -- -- --", &f),
		  ==, 0);
	CHECK_INT(
	    one(&p, "     1)         1.5  Rx         01DB  8  00 11 22 33 44 55 66 77\r\n", &f), ==,
	    1);
	CHECK_INT(f.id, ==, 0x1DB);
	CHECK_INT(f.flags, ==, 0);
	CHECK_INT(f.data[7], ==, 0x77);
	CHECK_INT(f.t_ns, ==, t0 + 1500000);
	CHECK_INT(one(&p, "     2)        11.5  Tx     18DAF1DB  2  AA BB", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_EXT | CANF_TX);
	CHECK_INT(f.t_ns, ==, t0 + 11500000);
	CHECK_INT(one(&p, "     3)        21.5  Rx         079B  8  RTR", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_RTR);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(one(&p, "     4)        31.5  Warng  FFFFFFFF  4  00 00 00 08  BUSHEAVY", &f), ==,
		  0);
	CHECK_INT(one(&p, "     5)        41.5  Rx         01DB  8  00 11", &f), ==, -1);
	/* found by fuzz_logread: nothing after the time is an error, and the
	 * byte after the line is not read (here an "X", a bus event's start) */
	const char cut[] = "     6)        51.5 X";
	char why[200];
	CHECK_INT(logparse_line(&p, cut, sizeof(cut) - 2, &f, why, sizeof(why)), ==, -1);
	/* 2.1 with $COLUMNS: bus, reserved column, FD, remote, status, error */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, ";$FILEVERSION=2.1", &f), ==, 0);
	CHECK_INT(one(&p, ";$STARTTIME=41744.375", &f), ==, 0);
	CHECK_INT(one(&p, ";$COLUMNS=N,O,T,B,I,d,R,L,D", &f), ==, 0);
	CHECK_INT(
	    one(&p, "      1         1.500 DT 1      01DB Rx -  8    00 11 22 33 44 55 66 77", &f),
	    ==, 1);
	CHECK_INT(f.id, ==, 0x1DB);
	CHECK_INT(f.t_ns, ==, t0 + 1500000);
	CHECK_INT(one(&p, "      2        11.500 DT 2  18DAF1DB Tx -  2    AA BB", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_EXT | CANF_TX);
	CHECK_INT(f.bus, ==, BUS_CAR);
	CHECK_INT(f.data[1], ==, 0xBB);
	CHECK_INT(one(&p, "      3        21.500 RR 1      079B Rx -  8", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_RTR);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(one(&p,
		      "      4        31.500 FD 1      0123 Rx -  9    "
		      "00 01 02 03 04 05 06 07 08 09 0A 0B",
		      &f),
		  ==, 1);
	CHECK_INT(f.flags, ==, CANF_FD);
	CHECK_INT(f.len, ==, 12); /* DLC 9 */
	CHECK_INT(one(&p, "      5        41.500 ST 1           Rx    00 00 00 04", &f), ==, 0);
	CHECK_INT(one(&p, "      6        51.500 ER 1           Rx -  5    00 01 02 03 04", &f), ==,
		  1);
	CHECK_INT(f.flags, ==, CANF_ERR);
	CHECK_INT(one(&p, "      7        61.500 DT 1      01DB Rx -  8    00 11", &f), ==, -1);
	CHECK_INT(one(&p, "      8        71.500 DT 7      01DB Rx -  1    00", &f), ==, -1);
	/* 2.0: N O T I d l D (l: the data length in bytes) */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, ";$FILEVERSION=2.0", &f), ==, 0);
	CHECK_INT(one(&p, "      1      1059.900 DT     0300 Rx 8  00 00 00 00 00 00 00 01", &f),
		  ==, 1);
	CHECK_INT(f.id, ==, 0x300);
	CHECK_INT(f.t_ns, ==, 0); /* no $STARTTIME: relative */
	CHECK_INT(one(&p,
		      "      2      1069.900 FB     0123 Rx 12 00 01 02 03 04 05 06 07 08 09 0A 0B",
		      &f),
		  ==, 1);
	CHECK_INT(f.len, ==, 12);
	CHECK_INT(f.t_ns, ==, 10000000);
	/* a version we do not read, and bad headers */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, ";$FILEVERSION=1.3", &f), ==, 0);
	CHECK_INT(one(&p, "     1)         1.5  1  Rx   01DB -  8  00 11 22 33 44 55 66 77", &f),
		  ==, -1);
	CHECK_INT(one(&p, ";$STARTTIME=yesterday", &f), ==, -1);
	CHECK_INT(one(&p, ";$STARTTIME=391831.5", &f), ==, -1); /* fuzz_logfmt_trc: past 2262 */
	CHECK_INT(one(&p, ";$COLUMNS=N,O", &f), ==, -1);
	/* found by fuzz_logfmt_trc: a refused $COLUMNS left half its columns, or
	 * the data before a column it needs */
	logparse_init(&p, LF_TRC, BUS_EV, 0);
	CHECK_INT(one(&p, ";$FILEVERSION=2.1", &f), ==, 0);
	CHECK_INT(one(&p, ";$COLUMNS=N,O,T,D,I,L", &f), ==, -1);
	CHECK_INT(one(&p, ";$COLUMNS=N,O,D", &f), ==, -1);
	CHECK_INT(one(&p, "      1         1.500 DT 1      01DB Rx -  1    00", &f), ==, 1);
	/* 1.0 lines without a header */
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "     1)      1059.9  0300  8  00 00 00 00 00 00 00 01", &f), ==, 1);
	CHECK_INT(p.fmt, ==, LF_TRC);
	CHECK_INT(f.id, ==, 0x300);
}

/* "~" stands for a NUL byte: the USB-CAN tool pads its columns with them */
static size_t
nul_line(char *buf, size_t cap, const char *tmpl)
{
	size_t n = strlen(tmpl);

	CHECK(n < cap);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmpl[i] == '~' ? '\0' : tmpl[i];
	return n;
}

static void
test_logfmt_usbcan(void)
{
	struct logparse p;
	struct can_rec f;
	char b[256];

	logparse_init(&p, LF_AUTO, BUS_EV, 500);
	CHECK_INT(one_len(&p, b,
			  nul_line(b, sizeof(b),
				   "NO~~~Direction~~Time Scale~~Frame Type~~Frame Format~~Frame ID"
				   "~~Length~~Data~~\r\n"),
			  &f),
		  ==, 0);
	CHECK_INT(p.fmt, ==, LF_USBCAN);
	CHECK_INT(
	    one_len(&p, b,
		    nul_line(b, sizeof(b),
			     "0~~Receive~~23:59:59:990~~Data frame~~Standard frame~~000001db~~"
			     "8~~00 11 22 33 44 55 66 77 ~~\r\n"),
		    &f),
	    ==, 1);
	CHECK_INT(f.id, ==, 0x1DB);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(f.data[7], ==, 0x77);
	CHECK_INT(f.flags, ==, 0);
	CHECK_INT(f.t_ns, ==, 500);
	/* past midnight: the time of day starts again, the log goes on */
	CHECK_INT(
	    one_len(&p, b,
		    nul_line(b, sizeof(b),
			     "1~~Receive~~00:00:00:010~~Data frame~~Standard frame~~000001dc~~"
			     "2~~AA BB~~\r\n"),
		    &f),
	    ==, 1);
	CHECK_INT(f.t_ns, ==, 500 + 20000000);
	CHECK_INT(
	    one_len(
		&p, b,
		nul_line(b, sizeof(b),
			 "2  Send  00:00:00:020  Remote frame  Extended frame  18daf1db  8  \r\n"),
		&f),
	    ==, 1);
	CHECK_INT(f.flags, ==, CANF_RTR | CANF_EXT | CANF_TX);
	CHECK_INT(f.id, ==, 0x18DAF1DB);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(f.t_ns, ==, 500 + 30000000);
	CHECK_INT(
	    one_len(&p, b,
		    nul_line(b, sizeof(b),
			     "3~~Receive~~00:00:00:030~~Data frame~~Standard frame~~000001db~~"
			     "8~~00 11~~\r\n"),
		    &f),
	    ==, -1);
	CHECK_INT(
	    one_len(
		&p, b,
		nul_line(b, sizeof(b),
			 "4~~Listen~~00:00:00:040~~Data frame~~Standard frame~~000001db~~1~~00"),
		&f),
	    ==, -1);
	/* found by fuzz_logread: a midnight on every row overflowed the times */
	logparse_init(&p, LF_USBCAN, BUS_EV, 0);
	int r = 1;
	for (int i = 0; i < 200002 && r > 0; i++)
		r = one(&p,
			i % 2 ? "1 Receive 01:00:00:000 Data frame Standard frame 1db 0"
			      : "1 Receive 23:00:00:000 Data frame Standard frame 1db 0",
			&f);
	CHECK_INT(r, ==, -1);
	CHECK(p.frames > 100000);
	/* rows without a time: the bus clock's */
	logparse_init(&p, LF_USBCAN, BUS_EV, 0);
	CHECK_INT(one_len(&p, b,
			  nul_line(b, sizeof(b),
				   "0~~Receive~~Data frame~~Standard frame~~000001db~~1~~00~~\r\n"),
			  &f),
		  ==, 1);
	CHECK(p.untimed);
}

/* the ESP32 loggers' microseconds, and the space export it must not be taken for */
static void
test_logfmt_micros(void)
{
	struct logparse p;
	struct can_rec f;

	logparse_init(&p, LF_AUTO, BUS_EV, 7);
	CHECK_INT(one(&p, "00019402641 00000284 08 00 00 00 00 00 00 51 D7\r\n", &f), ==, 1);
	CHECK_INT(p.fmt, ==, LF_MICROS);
	CHECK_INT(f.id, ==, 0x284);
	CHECK_INT(f.flags, ==, 0);
	CHECK_INT(f.len, ==, 8);
	CHECK_INT(f.data[7], ==, 0xD7);
	CHECK_INT(f.t_ns, ==, 7);
	CHECK_INT(one(&p, "00019412641 18DAF1DB 02 10 64", &f), ==, 1);
	CHECK_INT(f.flags, ==, CANF_EXT);
	CHECK_INT(f.t_ns, ==, 7 + 10000000);
	CHECK_INT(one(&p, "00019422641 000001DB 08 00 11", &f), ==, -1);
	CHECK_INT(one(&p, "00019422641 000001DB 09 00 11 22 33 44 55 66 77 88", &f), ==, -1);
	logparse_init(&p, LF_AUTO, BUS_EV, 0);
	CHECK_INT(one(&p, "0019.402641 00000284 8 00 00 00 00 00 00 51 D7", &f), ==, 1);
	CHECK_INT(p.fmt, ==, LF_SPACEEXP);
	CHECK_INT(logfmt_by_name("micros"), ==, LF_MICROS);
	CHECK_STR(logfmt_name(LF_USBCAN), "usbcan");
}

struct logcount {
	const char *rel;
	int bus;
	unsigned long frames;
	int fmt;
};

static void
test_logfmt_real_logs(void)
{
	/* frame counts: LEAF-CAN.md section 7 */
	static const struct logcount logs[] = {
		{"logs/ze0_2011-2012/ZE0w24kWhstock.log", 0, 59966, LF_TABEXP},
		{"logs/ze0_2011-2012/ZE0_Shift_P_D_ECO_N.log", 0, 12507, LF_TABEXP},
		{"logs/ze0_2011-2012/ch1_20251127_195942_leaf_ze0_leafspy.csv", 0, 36818, LF_SPACEEXP},
		{"logs/ze0_2011-2012/plug_charge_stop_full.csv", 0, 45590, LF_SPACEEXP},
		{"logs/ze0_2011-2012/10bars.csv", 0, 6161, LF_SPACEEXP},
		{"logs/aze0_2013-2017/ch1_20250804_161600_bypass.csv", 0, 45590, LF_SPACEEXP},
		{"logs/aze0_2013-2017/AV-CAN_2016_30kWh.log", 3, 208, LF_TABEXP},
		{"logs/ze1_2018plus/EV-CANepluseco.log", 0, 41602, LF_TABEXP},
		{"logs/ze1_2018plus/EV-CANeplus2.log", 0, 25832, LF_TABEXP},
		{"logs/ze1_2018plus/EV-CANeplus3.log", 0, 21028, LF_TABEXP},
		{"logs/ze1_2018plus/62kWh-Battery-only-EVcan.txt", 0, 2041, LF_CANDUMP_TXT},
		{"logs/ze1_2018plus/EV_can-bus_from_62_ZE1.txt", 0, 7662, LF_CANDUMP_TXT},
		{"logs/ze1_2018plus/EV_can-bus_from_62_ZE1_QCcharging.txt", 0, 22641, LF_CANDUMP_TXT},
		{"logs/ze1_2018plus/ZE1-chademo-starting-and-charging.csv", 2, 4692, LF_GVRET},
		{"logs/env200/ME0_40kWh_IGN.log", 0, 9009, LF_TABEXP},
		{"logs/env200/env200-2015-with-40kWh-startup-nobridge.crtd", 0, 55489, LF_CRTD},
		{"logs/bench_inverter/inv_onown_from_cold.csv", 0, 8713, LF_GVRET},
		{"synthetic/can_log_demo.txt", 0, 9960, LF_TSV},
	};
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		const char *path = t_data(logs[i].rel);
		struct logread r;
		struct can_rec f;
		int k;
		int64_t prev = INT64_MIN;
		unsigned long back = 0;

		if (path == NULL)
			return;
		CHECK(logread_open(&r, path, LF_AUTO, logs[i].bus, 0) == 0);
		while ((k = logread_next(&r, &f)) != 0)
			if (k > 0) {
				back += f.t_ns < prev;
				prev = f.t_ns;
			}
		if (r.lp.frames != logs[i].frames || r.lp.fmt != logs[i].fmt)
			t_fail(__FILE__, __LINE__, "%s: %llu frames as %s", logs[i].rel,
			       (unsigned long long)r.lp.frames, logfmt_name(r.lp.fmt));
		/* only the QC log has trailing junk (a shell session) */
		if (strstr(logs[i].rel, "QCcharging") == NULL)
			CHECK_INT(r.lp.errors, ==, 0);
		else
			CHECK(r.lp.errors > 0);
		CHECK_INT(back, ==, 0); /* times never run backwards */
		logread_close(&r);
	}
}

static void
test_logfmt_bad_lines_skipped(void)
{
	char *dir = t_tmpdir();
	char path[512];
	FILE *fp;
	struct logread r;
	struct can_rec f;
	int k, frames = 0, bad = 0;
	char first_err[600] = "";

	snprintf(path, sizeof(path), "%s/x.log", dir);
	fp = fopen(path, "w");
	CHECK(fp != NULL);
	for (int i = 0; i < 1000; i++) {
		if (i == 500)
			fputs("(1700000000.5) can0 1DB#zz\n", fp);
		if (i == 700)
			fputs("\x01\x02garbage\xff\n", fp);
		fprintf(fp, "(1700000000.%06d) can0 1DB#00%02X\n", i, i & 0xFF);
	}
	fclose(fp);
	CHECK(logread_open(&r, path, LF_AUTO, BUS_EV, 0) == 0);
	while ((k = logread_next(&r, &f)) != 0) {
		if (k > 0)
			frames++;
		else if (bad++ == 0)
			snprintf(first_err, sizeof(first_err), "%s", r.err);
	}
	logread_close(&r);
	CHECK_INT(frames, ==, 1000);
	CHECK_INT(bad, ==, 2);
	CHECK(strstr(first_err, "x.log:501: ") != NULL);
}

T_MAIN(T(test_logfmt_candump_log), T(test_logfmt_hex_table), T(test_logfmt_candump_fast_matches_full),
       T(test_logfmt_candump_roundtrip), T(test_logfmt_text_untimed),
       T(test_logfmt_gvret), T(test_logfmt_crtd), T(test_logfmt_exports), T(test_logfmt_asc),
       T(test_logfmt_trc), T(test_logfmt_usbcan), T(test_logfmt_micros), T(test_logfmt_real_logs),
       T(test_logfmt_bad_lines_skipped))
