/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agents.c - the hypervisor agents table (see agents.h).  Order matters: inspect
 * reports agents in this order, and v2v asks the package manager for the packages
 * in this order.
 */
#include "guest/agents.h"

const struct guest_agent guest_agents[] = {
	{
		.name = "open-vm-tools", .hypervisor = "vmware",
		.linux_files = {
			"/lib/systemd/system/open-vm-tools.service",
			"/usr/lib/systemd/system/open-vm-tools.service",
			"/etc/init.d/open-vm-tools",
			"/var/lib/dpkg/info/open-vm-tools.list",
			"/usr/lib/x86_64-linux-gnu/open-vm-tools", NULL },
		.dpkg_packages = { "open-vm-tools-desktop", "open-vm-tools-sdmp",
				   "open-vm-tools-dev", "open-vm-tools", NULL },
		.rpm_packages = { "open-vm-tools-desktop", "open-vm-tools-sdmp",
				  "open-vm-tools", NULL },
	},
	{
		.name = "vmware-tools", .hypervisor = "vmware",
		.linux_files = {
			"/usr/bin/vmtoolsd", "/usr/sbin/vmtoolsd", "/etc/vmware-tools",
			"/usr/lib/vmware-tools", "/etc/init.d/vmware-tools",
			"/usr/lib/systemd/system/vmtoolsd.service",
			"/lib/systemd/system/vmtoolsd.service", NULL },
		.linux_part_of = "open-vm-tools",
		.windows_apps = { "VMware Tools", NULL },
		.windows_files = {
			"%P/VMware/VMware Tools/vmtoolsd.exe",
			"%S/System32/drivers/pvscsi.sys", "%S/System32/drivers/vmxnet3.sys",
			"%S/System32/drivers/vm3dmp.sys", "%S/System32/drivers/vmci.sys",
			"%S/System32/drivers/vmmouse.sys", "%S/System32/drivers/vmhgfs.sys",
			"%S/System32/drivers/vmmemctl.sys", NULL },
		.linux_uninstaller = "/usr/bin/vmware-uninstall-tools.pl",
		.uninstalled_title = "VMware Tools (tarball install)",
	},
	{
		.name = "hyperv-daemons", .hypervisor = "hyperv",
		.linux_files = {
			"/usr/sbin/hv_kvp_daemon", "/usr/sbin/hv_vss_daemon",
			"/usr/sbin/hv_fcopy_daemon", "/usr/sbin/hypervkvpd",
			"/lib/systemd/system/hv-kvp-daemon.service",
			"/usr/lib/systemd/system/hypervkvpd.service", NULL },
		.dpkg_packages = { "hyperv-daemons", NULL },
		.rpm_packages = { "hyperv-daemons", "hyperv-daemons-license", "hypervkvpd",
				  "hypervvssd", "hypervfcopyd", "hyperv-tools", NULL },
	},
	{
		.name = "virtualbox-guest-additions", .hypervisor = "virtualbox",
		.linux_files = {
			"/usr/sbin/VBoxService", "/usr/bin/VBoxClient", "/etc/init.d/vboxadd",
			"/etc/init.d/vboxadd-service", "/lib/systemd/system/vboxadd.service",
			"/opt/VBoxGuestAdditions-*", NULL },
		.windows_apps = { "Oracle VM VirtualBox Guest Additions", NULL },
		.windows_files = {
			"%P/Oracle/VirtualBox Guest Additions/VBoxService.exe",
			"%S/System32/drivers/VBoxGuest.sys", NULL },
		.dpkg_packages = { "virtualbox-guest-x11", "virtualbox-guest-utils",
				   "virtualbox-guest-dkms", NULL },
		.rpm_packages = { "virtualbox-guest-additions", NULL },
	},
	{
		.name = "xen-pv-drivers", .hypervisor = "xen",
		.windows_apps = { "Citrix XenServer", "XenServer VM Tools", "Citrix VM Tools",
				  NULL },
		.windows_files = {
			"%S/System32/drivers/xenvbd.sys", "%S/System32/drivers/xennet.sys",
			NULL },
	},
	{
		.name = "parallels-tools", .hypervisor = "parallels",
		.windows_apps = { "Parallels Tools", NULL },
		.windows_files = { "%P/Parallels/Parallels Tools/prl_tools.exe", NULL },
	},
	{
		.name = "qemu-guest-agent", .hypervisor = "kvm",
		.linux_files = { "/usr/sbin/qemu-ga", "/usr/bin/qemu-ga", NULL },
		.windows_apps = { "QEMU guest agent", NULL },
		.windows_files = { "%P/Qemu-ga/qemu-ga.exe", NULL },
	},
};

const size_t guest_nb_agents = sizeof(guest_agents) / sizeof(guest_agents[0]);
