#!/bin/sh
# Regenerates the runtime samples in this directory (keepalived.data,
# keepalived_check.data, keepalived.json, the notify FIFO transcripts) from a
# real keepalived 2.2.7 with IPVS, inside a User-Mode Linux guest (see
# ../shared/LAB.md).  Run on the host as:
#     sh tests/keepalived/data/capture_uml.sh OUTDIR
# The guest writes into an overlay, never to the host, except OUTDIR.
set -eu
if [ "${1:-}" != "--guest" ]; then
    out=$(readlink -f "${1:?usage: capture_uml.sh OUTDIR}")
    mkdir -p "$out"
    self=$(readlink -f "$0")
    exec linux.uml mem=512M root=/dev/root rootfstype=hostfs rootflags=/ rw \
        init="$self" con=null con0=fd:0,fd:1 quiet -- "--guest" "$out" </dev/null
fi
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
out=${2:-}
if [ $$ = 1 ]; then
    mount -t proc proc /proc
    mount -t sysfs sys /sys
    mount -t tmpfs tmpfs /mnt
    v=$(uname -r)
    mkdir -p /mnt/mods/lib/modules /mnt/upper /mnt/work /mnt/root
    ln -s /usr/lib/uml/modules/$v /mnt/mods/lib/modules/$v
    for m in overlay ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc veth bridge; do modprobe -d /mnt/mods $m; done
    mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root
    mkdir -p /mnt/root/run/out
    mount -t hostfs none /mnt/root/run/out -o "$out"
    mount --move /proc /mnt/root/proc
    mount --move /sys /mnt/root/sys
    self=$(readlink -f "$0")
    chroot /mnt/root /bin/sh "$self" --guest /run/out >/mnt/root/run/out/guest.log 2>&1 || true
    poweroff -f
fi
# ---- inside the chroot ----
set -x
out=/run/out
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run/netns 2>/dev/null || { mkdir -p /run/netns; }
ip link add br0 type bridge
ip link set br0 up
n=0
for h in lb1:11 lb2:12 rs1:21 rs2:22 rs3:23 client:50; do
    name=${h%%:*}; addr=${h##*:}
    ip netns add $name
    ip link add v$name type veth peer name eth0 netns $name
    ip link set v$name master br0 up
    ip -n $name addr add 192.168.1.$addr/24 dev eth0
    ip -n $name link set eth0 up
    ip -n $name link set lo up
done
for rs in rs1 rs2 rs3; do
    ip -n $rs addr add 192.168.1.100/32 dev lo
    ip netns exec $rs sysctl -qw net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2 \
        net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
done
mkdir -p /tmp/www
# rs3 serves nothing: its TCP_CHECK fails
for rs in rs1 rs2; do
    ip netns exec $rs python3 -m http.server -b 0.0.0.0 -d /tmp/www 80 >/dev/null 2>&1 &
    echo $! > /tmp/$rs.http.pid
done
mkdir -p /run/ka/lb1 /run/ka/lb2
for lb in lb1:150 lb2:100; do
    name=${lb%%:*}; prio=${lb##*:}
    d=/run/ka/$name
    mkfifo $d/vrrp.fifo $d/lvs.fifo
    cat $d/vrrp.fifo > $out/$name.vrrp_fifo.txt &
    cat $d/lvs.fifo > $out/$name.lvs_fifo.txt &
    echo 0 > $d/maint
    cat > $d/keepalived.conf <<CONF
! sample used to capture runtime dumps ($name)
global_defs {
    router_id $name
    vrrp_notify_fifo $d/vrrp.fifo
    lvs_notify_fifo $d/lvs.fifo
    notify_priority_changes true
}
track_file maint {
    file "$d/maint"
    weight -60
    init_file 0 overwrite
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $prio
    advert_int 1
    track_file {
        maint
    }
    virtual_ipaddress {
        192.168.1.100/24 dev eth0
    }
}
virtual_server 192.168.1.100 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum 1
    real_server 192.168.1.21 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.22 80 {
        weight 2
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.23 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
        }
    }
}
CONF
    ip netns exec $name keepalived -f $d/keepalived.conf -p $d/keepalived.pid -r $d/vrrp.pid -c $d/check.pid -l -D >$out/$name.log 2>&1
done
sleep 8
for s in DATA STATS JSON RELOAD STATS_CLEAR STOP; do echo "$s $(keepalived --signum=$s)"; done > $out/signum.txt
ps -eo pid,ppid,args > $out/ps.txt
for lb in lb1 lb2; do
    d=/run/ka/$lb
    rm -f /tmp/keepalived*.data /tmp/keepalived.json
    kill -$(keepalived --signum=DATA) $(cat $d/keepalived.pid)
    kill -$(keepalived --signum=JSON) $(cat $d/keepalived.pid)
    sleep 2
    for f in keepalived.data keepalived_check.data keepalived_parent.data keepalived.json; do
        cp /tmp/$f $out/$lb.$f 2>/dev/null || echo "missing $f" >> $out/missing.txt
    done
    ip netns exec $lb ipvsadm -Ln > $out/$lb.ipvsadm.txt
done
# demote lb1 with its track file, then dump again (lb1 now BACKUP at 90)
echo 1 > /run/ka/lb1/maint
sleep 5
rm -f /tmp/keepalived*.data /tmp/keepalived.json
kill -$(keepalived --signum=DATA) $(cat /run/ka/lb1/keepalived.pid)
kill -$(keepalived --signum=JSON) $(cat /run/ka/lb1/keepalived.pid)
sleep 2
cp /tmp/keepalived.data $out/lb1-demoted.keepalived.data || true
cp /tmp/keepalived.json $out/lb1-demoted.keepalived.json || true
# take rs2 (inhibit_on_failure) down
kill $(cat /tmp/rs2.http.pid)
echo 0 > /run/ka/lb1/maint
sleep 6
rm -f /tmp/keepalived*.data
kill -$(keepalived --signum=DATA) $(cat /run/ka/lb1/keepalived.pid)
sleep 2
cp /tmp/keepalived_check.data $out/lb1-rsdown.keepalived_check.data || true
ip netns exec lb1 ipvsadm -Ln > $out/lb1-rsdown.ipvsadm.txt
for lb in lb1 lb2; do kill $(cat /run/ka/$lb/keepalived.pid); done
sleep 3
sync
