/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kvm_probe.S - the KVM probe guest: a 512-byte boot sector that does what a Linux
 * kernel does first and what broken (nested, paravirtual) KVMs fail on: enter long
 * mode with paging, run cmpxchg16b and xsave/xrstor when CPUID offers them, then
 * print a marker on the first serial port and halt.  accel_probe.c boots it with
 * -accel kvm -cpu host; only when the marker appears is KVM trusted.
 *
 * Regenerate launcher/kvm_probe_bin.c with launcher/gen-kvm-probe.sh (needs binutils);
 * the build itself does not assemble this file.
 */
	.code16
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7c00, %sp
	cld
	/* zero 0x1000..0x7000: page tables (PML4, PDPT, PD), cmpxchg16b and xsave areas */
	mov	$0x1000, %di
	mov	$0x3000, %cx
	rep stosw
	movl	$0x2003, 0x1000		/* PML4[0] -> PDPT */
	movl	$0x3003, 0x2000		/* PDPT[0] -> PD */
	movl	$0x83, 0x3000		/* PD[0]: 2 MiB identity page */
	lgdtl	gdtr
	mov	$0x1000, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$((1 << 5) | (1 << 9)), %eax	/* PAE, OSFXSR */
	mov	%eax, %cr4
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* PG, PE */
	mov	%eax, %cr0
	ljmp	$0x08, $long_mode

	.code64
long_mode:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7c00, %esp
	mov	$1, %eax
	cpuid
	mov	%ecx, %ebp
	bt	$13, %ebp		/* CX16 */
	jnc	1f
	xor	%eax, %eax
	xor	%edx, %edx
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	mov	$0x5000, %edi
	lock cmpxchg16b (%rdi)
1:
	bt	$26, %ebp		/* XSAVE */
	jnc	2f
	mov	%cr4, %rax
	or	$(1 << 18), %rax	/* OSXSAVE */
	mov	%rax, %cr4
	xor	%ecx, %ecx
	mov	$3, %eax		/* XCR0 = x87 | SSE */
	xor	%edx, %edx
	xsetbv
	mov	$3, %eax
	xor	%edx, %edx
	mov	$0x6000, %edi
	xsave	(%rdi)
	xrstor	(%rdi)
2:
	mov	$msg, %esi
	mov	$0x3f8, %dx
3:
	lodsb
	test	%al, %al
	jz	4f
	out	%al, (%dx)
	jmp	3b
4:
	hlt
	jmp	4b

	.p2align 3
gdt:
	.quad	0
	.quad	0x00af9a000000ffff	/* 64-bit code */
	.quad	0x00cf92000000ffff	/* data */
gdtr:
	.word	gdtr - gdt - 1
	.long	gdt
msg:
	.asciz	"IMGTOOL-KVM-PROBE-OK\r\n"
	.org	510
	.byte	0x55, 0xaa
