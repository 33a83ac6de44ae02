/**
 * The guest's /init: loads the virtio modules, starts qemu-guest-agent when the VM has
 * its channel, then serves a line protocol on the serial console so that tests can make
 * the guest itself write to its virtio disks (dirtying QEMU's real bitmaps).
 *
 *   <id> w <dev> <offKiB> <lenKiB> <random|zero|TOKEN>   write, then fsync
 *   <id> h <dev> <offKiB> <lenKiB>                        md5 of a range as the guest sees it
 *   <id> p                                                ping
 *   <id> fw <dev> <relpath> <sizeKiB> <random|TOKEN>      write a file in /mnt/<dev>1 (folders made), then sync
 *   <id> fm <dev> <relpath>                               md5 of that file
 *   <id> fd <dev> <relpath>                               delete it, then sync
 * A disk with an ext4 first partition (a lab disk with `fs: 'ext4-partitioned'`) is mounted
 * read-write at /mnt/<dev>1 at boot.
 * Each answers `SBLAB <id> OK [value]` or `SBLAB <id> ERR <message>`.
 */
export const GUEST_READY = 'SBLAB-READY';

export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/usr/sbin
mkdir -p /proc /sys /dev /run /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# No modules.dep in the initramfs: load in passes until every dependency is in.
for pass in 1 2 3 4 5 6; do
  for m in /modules/*.ko; do insmod "$m" 2>/dev/null; done
done
if [ -x /usr/sbin/qemu-ga ]; then
  for p in /sys/class/virtio-ports/*; do
    [ -e "$p/name" ] || continue
    if [ "$(cat "$p/name")" = org.qemu.guest_agent.0 ]; then
      /usr/sbin/qemu-ga -d -m virtio-serial -p "/dev/$(basename "$p")" -f /run/qga.pid -t /run
    fi
  done
fi
for part in /dev/vd?1; do
  [ -b "$part" ] || continue
  mnt=/mnt/$(basename "$part")
  mkdir -p "$mnt"
  mount -t ext4 "$part" "$mnt" 2>/dev/null || rmdir "$mnt"
done
stty -echo 2>/dev/null
echo ${GUEST_READY}
while read -r id cmd dev off len pat; do
  case "$cmd" in
    p) echo "SBLAB $id OK pong" ;;
    w)
      case "$pat" in
        random) src=/dev/urandom ;;
        zero) src=/dev/zero ;;
        *) src="" ;;
      esac
      if [ -n "$src" ]; then
        dd if="$src" of="/dev/$dev" bs=1024 seek="$off" count="$len" conv=notrunc,fsync 2>/tmp/err
      else
        yes "$pat" | dd of="/dev/$dev" bs=1024 seek="$off" count="$len" iflag=fullblock conv=notrunc,fsync 2>/tmp/err
      fi
      if [ $? -eq 0 ]; then echo "SBLAB $id OK"; else echo "SBLAB $id ERR $(tail -n1 /tmp/err)"; fi
      ;;
    h)
      sum=$(dd if="/dev/$dev" bs=1024 skip="$off" count="$len" 2>/dev/null | md5sum | cut -d' ' -f1)
      echo "SBLAB $id OK $sum"
      ;;
    fw)
      f="/mnt/\${dev}1/$off"
      mkdir -p "$(dirname "$f")"
      if [ "$pat" = random ]; then
        dd if=/dev/urandom of="$f" bs=1024 count="$len" 2>/tmp/err
      else
        yes "$pat" | dd of="$f" bs=1024 count="$len" iflag=fullblock 2>/tmp/err
      fi
      if [ $? -eq 0 ] && sync; then echo "SBLAB $id OK"; else echo "SBLAB $id ERR $(tail -n1 /tmp/err)"; fi
      ;;
    fm)
      f="/mnt/\${dev}1/$off"
      if [ -f "$f" ]; then echo "SBLAB $id OK $(md5sum "$f" | cut -d' ' -f1)"; else echo "SBLAB $id ERR no file $f"; fi
      ;;
    fd)
      if rm "/mnt/\${dev}1/$off" 2>/tmp/err && sync; then echo "SBLAB $id OK"; else echo "SBLAB $id ERR $(tail -n1 /tmp/err)"; fi
      ;;
    "") ;;
    *) echo "SBLAB $id ERR unknown command $cmd" ;;
  esac
done
`;
