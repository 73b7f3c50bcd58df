/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain_xml.c - the libvirt domain XML of a converted guest, which -o local
 * leaves for the user and -o libvirt gives to `virsh define`.  It carries the
 * source VM's memory, vCPUs, firmware, NICs and their MACs where the input knew
 * them, and puts the first NIC at PCI slot 3: that is where `imgtool launch` puts
 * its NIC (-nodefaults: host bridge 0, PIIX 1, disk 2, NIC 3), so the guest sees
 * the interface name "ens3" that the Linux conversion configured, under libvirt as
 * under the -o qemu script.  The XML itself is the launcher's (launcher/libvirt_xml.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "common/err.h"
#include "launcher/launch.h"
#include "v2v/output/output.h"

#define NIC_SLOT 3

int v2v_domain_xml_write(const struct v2v_target *t, FILE *f)
{
	const struct v2v_source *s = t->src;
	const char **fmts = NULL, **macs = NULL;
	char why[256];
	struct launch_config cfg = {
		.qemu = LAUNCH_DEFAULT_QEMU,
		.name = t->name,
		.image = t->disks[0],
		.format = t->format,
		.memory_mib = t->memory_mib,
		.cpus = t->vcpus,
		.bus = t->bus == V2V_BUS_VIRTIO ? LAUNCH_BUS_VIRTIO : LAUNCH_BUS_VIRTIO_SCSI,
		.cache = "writeback",
		.net = LAUNCH_NET_USER,
		.vnc_display = -1,
		.firmware = t->uefi ? LAUNCH_FW_UEFI : LAUNCH_FW_BIOS,
		.rtc_localtime = t->rtc_localtime,
		.nb_nics = s && s->nb_nics > 0 ? s->nb_nics : 1,
		.nic_first_slot = NIC_SLOT,
	};
	int r;

	/* a domain type='kvm' only where KVM really runs guests (the launcher's probe) */
	cfg.accel = accel_probe_kvm(cfg.qemu, why, sizeof(why)) == 1 ? LAUNCH_ACCEL_KVM
								     : LAUNCH_ACCEL_TCG;
	err_clear();
	fmts = calloc((size_t)t->nb_disks + 1, sizeof(*fmts));
	macs = calloc((size_t)cfg.nb_nics + 1, sizeof(*macs));
	if (!fmts || !macs) {
		free(fmts);
		free(macs);
		return err_set(-ENOMEM, t->name, "out of memory");
	}
	for (int i = 0; i < t->nb_disks; i++)
		fmts[i] = t->format;
	for (int i = 0; s && i < s->nb_nics; i++)
		macs[i] = s->nics[i].mac;
	cfg.extra_images = (const char *const *)t->disks + 1;
	cfg.extra_formats = fmts + 1;
	cfg.nb_extra = t->nb_disks - 1;
	cfg.nic_macs = macs;
	r = launch_put_libvirt_xml(f, &cfg);
	free(fmts);
	free(macs);
	return r;
}
