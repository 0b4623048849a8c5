/*
 * Route netlink events: which ones mean "try the remote now", and a live
 * check in a network namespace of our own (bringing its loopback up).
 */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netwatch.h"
#include "t.h"

static size_t
msg(void *buf, int type, unsigned flags)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} m;
	memset(&m, 0, sizeof(m));
	m.h.nlmsg_len = NLMSG_LENGTH(sizeof(m.i));
	m.h.nlmsg_type = (unsigned short)type;
	m.i.ifi_flags = flags;
	memcpy(buf, &m, sizeof(m));
	return NLMSG_ALIGN(m.h.nlmsg_len);
}

static void
test_netwatch_which_events_count(void)
{
	char buf[512] __attribute__((aligned(4)));
	CHECK_INT(netwatch_parse(buf, msg(buf, RTM_NEWADDR, 0)), ==, 1);
	CHECK_INT(netwatch_parse(buf, msg(buf, RTM_NEWROUTE, 0)), ==, 1);
	CHECK_INT(netwatch_parse(buf, msg(buf, RTM_DELADDR, 0)), ==, 0);
	CHECK_INT(netwatch_parse(buf, msg(buf, RTM_DELROUTE, 0)), ==, 0);
	CHECK_INT(netwatch_parse(buf, msg(buf, RTM_NEWLINK, IFF_UP)), ==, 0);
	CHECK_INT(netwatch_parse(buf, msg(buf, RTM_NEWLINK, IFF_UP | IFF_RUNNING)), ==, 1);
	/* two messages in one read: a link going down, then an address */
	size_t n = msg(buf, RTM_NEWLINK, 0);
	n += msg(buf + n, RTM_NEWADDR, 0);
	CHECK_INT(netwatch_parse(buf, n), ==, 1);
	CHECK_INT(netwatch_parse(buf, 3), ==, 0); /* truncated */
}

/* In a child with its own network namespace: lo up must be noticed. */
static int
child(void)
{
	if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return 77;
	int fd = netwatch_open();
	if (fd < 0)
		return 2;
	if (netwatch_read(fd) != 0)
		return 3; /* nothing happened yet */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return 4;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return 77; /* no CAP_NET_ADMIN in the namespace */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 5000) != 1)
		return 5;
	return netwatch_read(fd) == 1 ? 0 : 6;
}

static void
test_netwatch_notices_a_link_coming_up(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(child());
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		t_skip("no network namespace of our own here (unshare refused)");
	CHECK_INT(WEXITSTATUS(st), ==, 0);
}

T_MAIN(T(test_netwatch_which_events_count), T(test_netwatch_notices_a_link_coming_up))
