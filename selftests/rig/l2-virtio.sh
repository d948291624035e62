#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /virtio.sh in the nested guest's initramfs (qemu-payload.sh), run by
# l2-init.sh through mkvm.l2cmd=sh,/virtio.sh: loads the virtio-pci and
# virtio-blk drivers, reads the disk guest-run.sh made (a signature in
# its first sector) and writes a second signature to sector 1 with a
# flush, which guest-run.sh checks in the image after QEMU exits.  Its
# queue notifications reach QEMU through ioeventfds and its completions
# come back as MSI-X interrupts through irqfds.
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev \
	 virtio_pci virtio_blk; do
	insmod "/lib/modules/$m.ko" || { echo "MKVM-L2 virtio: insmod $m failed"; exit 1; }
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -b /dev/vda ] || { echo "MKVM-L2 virtio: no /dev/vda"; exit 1; }
sig=$(dd if=/dev/vda bs=16 count=1 2>/dev/null)
[ "$sig" = MKVM-VIRTIO-DISK ] || { echo "MKVM-L2 virtio: read '$sig'"; exit 1; }
printf MKVM-L2-WROTE-IT | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null ||
	{ echo "MKVM-L2 virtio: write failed"; exit 1; }
# Its queue's interrupts came as MSI-X messages (QEMU's irqfds), not INTx.
grep virtio /proc/interrupts | sed 's/^/MKVM-L2 virtio irq: /'
grep -q "PCI-MSI.*virtio0-req" /proc/interrupts ||
	{ echo "MKVM-L2 virtio: no MSI-X request interrupt"; exit 1; }
echo "MKVM-L2 virtio: read and wrote /dev/vda"
