/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agents.h - the one table of hypervisor agents (VMware Tools and open-vm-tools,
 * Hyper-V daemons, VirtualBox additions, Xen PV drivers, Parallels Tools, the QEMU
 * guest agent): the files and installed applications by which `imgtool inspect`
 * finds each, and the packages `imgtool v2v` removes.  One table, so that an agent
 * inspect reports is an agent v2v knows how to remove, and the two never drift.
 */
#ifndef IMGTOOL_AGENTS_H
#define IMGTOOL_AGENTS_H

#include <stddef.h>

struct guest_agent {
	const char *name;             /* as inspect reports it */
	const char *hypervisor;       /* vmware, hyperv, virtualbox, xen, parallels, kvm */

	/* Linux: globs whose matches show the agent is there (none: not a Linux agent) */
	const char *linux_files[10];
	/* an agent whose Linux files are partly this one's (vmtoolsd, /etc/vmware-tools
	 * belong to open-vm-tools too): when both are found, one agent is reported */
	const char *linux_part_of;

	/* Windows: display-name prefixes in the Uninstall key, and files: "%S" is the
	 * system root, "%P" /Program Files (none of either: not a Windows agent) */
	const char *windows_apps[4];
	const char *windows_files[10];

	/* What v2v removes from a Linux guest going to KVM, in this order; none for the
	 * QEMU guest agent, which is KVM's own */
	const char *dpkg_packages[6];
	const char *rpm_packages[8];
	/* an installer that is not a package (VMware's tarball): its uninstaller, and
	 * what the report calls the agent it removes */
	const char *linux_uninstaller;
	const char *uninstalled_title;
};

extern const struct guest_agent guest_agents[];
extern const size_t guest_nb_agents;

#endif
