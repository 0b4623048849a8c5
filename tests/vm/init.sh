#!/bin/busybox sh
# /init of the leafmon test VM (busybox, in the initramfs): load the modules,
# mount the host's / read-only over 9p with a tmpfs overlay, mount the work
# and control dirs read-write, bring up vcan0 (and the emulated Kvaser
# boards), run /ctl/cmd.sh in the chroot, record its exit code, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /lower /rw /newroot
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

fail() {
	echo "leafmon-vm: $*" >/dev/console
	poweroff -f
}

arg() {
	sed -n "s/.*leafmon\.$1=\([^ ]*\).*/\1/p" /proc/cmdline
}
WORK=$(arg work)
CTL=/run/leafmon-vm
KVASER=$(arg kvaser)
ORDER=/modules.base
[ "$KVASER" = 1 ] && ORDER=/modules.all
for m in $(cat $ORDER); do
	insmod "/modules/$m.ko" || echo "leafmon-vm: insmod $m failed" >/dev/console
done

mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 root /lower ||
	fail "cannot mount the host root over 9p"
mount -t tmpfs -o size=70% rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "cannot mount the overlay"
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs shm /newroot/dev/shm
mount -t tmpfs run /newroot/run
# /tmp stays the host's (through the overlay: a build dir there is seen);
# temporary files go to TMPDIR=/run/tmp, a tmpfs.
mkdir -p /newroot/run/tmp
chmod 1777 /newroot/run/tmp
mkdir -p /newroot$CTL
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=262144 ctl /newroot$CTL ||
	fail "cannot mount the control dir"
cut -d" " -f1 /proc/uptime >/newroot$CTL/started
if [ -n "$WORK" ]; then
	mkdir -p "/newroot$WORK"
	mount -t 9p -o trans=virtio,version=9p2000.L,cache=mmap,msize=262144 work "/newroot$WORK" ||
		fail "cannot mount the work dir"
fi

# busybox's ip cannot create vcan links, and busybox chroot prefers its own
# applets: always run the host's tools by absolute path.
IP=/usr/sbin/ip
chroot /newroot $IP link set lo up
chroot /newroot $IP link add dev vcan0 type vcan
chroot /newroot $IP link set vcan0 up
if [ "$KVASER" = 1 ]; then
	for i in can0 can1; do
		chroot /newroot $IP link set $i type can bitrate 500000 &&
			chroot /newroot $IP link set $i up ||
			echo "leafmon-vm: cannot bring up $i" >/dev/console
	done
fi
cut -d" " -f1 /proc/uptime >/newroot$CTL/ready

chroot /newroot /bin/sh $CTL/cmd.sh >/newroot$CTL/out 2>&1 </dev/null
echo $? >/newroot$CTL/rc.tmp
mv /newroot$CTL/rc.tmp /newroot$CTL/rc
sync
poweroff -f
