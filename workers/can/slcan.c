/*
 * slcan line parsing and formatting (see slcan.h).
 */
#include "slcan.h"

#include <stdio.h>
#include <string.h>

void
slcan_rx_init(struct slcan_rx *p)
{
	memset(p, 0, sizeof(*p));
}

static int
hexv(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
hexn(const char *p, int n, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		int h = hexv((unsigned char)p[i]);
		if (h < 0)
			return -1;
		*v = (*v << 4) | (uint32_t)h;
	}
	return 0;
}

int
slcan_parse_line(const char *line, size_t len, struct can_rec *f)
{
	char k;
	int idl;
	uint32_t id, dlc, b;
	size_t pos;

	if (len < 1)
		return -1;
	k = line[0];
	if (k != 't' && k != 'T' && k != 'r' && k != 'R')
		return -1;
	idl = (k == 'T' || k == 'R') ? 8 : 3;
	if (len < (size_t)idl + 2 || hexn(line + 1, idl, &id) < 0 || hexn(line + 1 + idl, 1, &dlc) < 0 ||
	    dlc > 8 || (idl == 3 && id > 0x7FF) || id > 0x1FFFFFFF)
		return -1;
	memset(f, 0, offsetof(struct can_rec, data) + 8);
	f->id = id;
	f->len = (uint8_t)dlc;
	f->flags = (uint8_t)((idl == 8 ? CANF_EXT : 0) | ((k == 'r' || k == 'R') ? CANF_RTR : 0));
	pos = (size_t)idl + 2;
	if (!(f->flags & CANF_RTR)) {
		if (len < pos + 2 * dlc)
			return -1;
		for (uint32_t i = 0; i < dlc; i++, pos += 2) {
			if (hexn(line + pos, 2, &b) < 0)
				return -1;
			f->data[i] = (uint8_t)b;
		}
	}
	/* an optional adapter timestamp (4 hex digits), else nothing */
	if (len == pos || (len == pos + 4 && hexn(line + pos, 4, &b) == 0))
		return 1;
	return -1;
}

size_t
slcan_feed(struct slcan_rx *p, const uint8_t *buf, size_t n, struct can_rec *out, size_t cap,
	   int bus, int64_t t_ns)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];
		if (c == '\a') {
			p->bells++;
			p->len = 0;
			p->overlong = false;
			continue;
		}
		if (c != '\r' && c != '\n') {
			if (p->len < sizeof(p->line))
				p->line[p->len++] = (char)c;
			else
				p->overlong = true;
			continue;
		}
		if (p->overlong)
			p->errors++;
		else if (p->len == 0)
			p->oks += c == '\r';
		else if (p->len == 1 && (p->line[0] == 'z' || p->line[0] == 'Z'))
			p->oks++; /* transmit acknowledgements (we never transmit) */
		else if (k < cap && slcan_parse_line(p->line, p->len, &out[k]) > 0) {
			out[k].t_ns = t_ns;
			out[k].bus = (uint8_t)bus;
			k++;
			p->frames++;
		} else
			p->errors++;
		p->len = 0;
		p->overlong = false;
	}
	return k;
}

int
slcan_format(char *buf, size_t len, const struct can_rec *f)
{
	char k = (f->flags & CANF_RTR) ? ((f->flags & CANF_EXT) ? 'R' : 'r')
				       : ((f->flags & CANF_EXT) ? 'T' : 't');
	int n = snprintf(buf, len, (f->flags & CANF_EXT) ? "%c%08X%u" : "%c%03X%u", k, f->id,
			 f->len > 8 ? 8 : f->len);

	for (int i = 0; !(f->flags & CANF_RTR) && i < f->len && i < 8 && n > 0; i++)
		n += snprintf(buf + n, len - (size_t)n, "%02X", f->data[i]);
	if (n > 0 && (size_t)n + 1 < len) {
		buf[n++] = '\r';
		buf[n] = '\0';
	}
	return n;
}

const char *
slcan_bitrate_cmd(long bitrate)
{
	static const struct {
		long rate;
		const char *cmd;
	} map[] = {{10000, "S0"},  {20000, "S1"},  {50000, "S2"},  {100000, "S3"}, {125000, "S4"},
		   {250000, "S5"}, {500000, "S6"}, {800000, "S7"}, {1000000, "S8"}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].rate == bitrate)
			return map[i].cmd;
	return NULL;
}
