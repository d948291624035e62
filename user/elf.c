// SPDX-License-Identifier: GPL-2.0
/*
 * ELF executables for the guest: the checks and the PT_LOAD segments of
 * a 32- or 64-bit little-endian x86 ET_EXEC file, for boot.c (format =
 * elf) and linux.c (format = vmlinux).  The file stays in the caller's
 * buffer; only elf_copy() writes guest memory.  Needs no KVM:
 * selftests/unit/linux_test.c links it.  Also errf(), the parsers' error
 * helper, which linux.c shares.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmrun.h"

int errf(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Program header i of the table at phoff, 64- or 32-bit: its p_type,
 * and its offset, address and sizes as a segment.  0, or -1 when the
 * header is not all in the file.
 */
static int elf_phdr(const uint8_t *img, size_t size, uint64_t phoff,
		    unsigned int i, bool is64, struct elf_segment *s,
		    uint32_t *type)
{
	size_t len = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	uint64_t at = phoff + (uint64_t)i * len;

	if (at > size || size - at < len)
		return -1;
	if (is64) {
		const Elf64_Phdr *ph = (const void *)(img + at);

		*type = ph->p_type;
		*s = (struct elf_segment){ ph->p_offset, ph->p_paddr,
					   ph->p_filesz, ph->p_memsz };
	} else {
		const Elf32_Phdr *ph = (const void *)(img + at);

		*type = ph->p_type;
		*s = (struct elf_segment){ ph->p_offset, ph->p_paddr,
					   ph->p_filesz, ph->p_memsz };
	}
	return 0;
}

int elf_parse(const uint8_t *img, size_t size, struct elf_image *e,
	      char *err, size_t n)
{
	const Elf64_Ehdr *e64 = (const void *)img;
	const Elf32_Ehdr *e32 = (const void *)img;
	unsigned int i, phnum;
	uint64_t phoff;

	memset(e, 0, sizeof(*e));
	if (size < sizeof(Elf64_Ehdr) || memcmp(img, ELFMAG, SELFMAG) ||
	    (img[EI_CLASS] != ELFCLASS64 && img[EI_CLASS] != ELFCLASS32) ||
	    img[EI_DATA] != ELFDATA2LSB || e64->e_type != ET_EXEC)
		return errf(err, n, "not a little-endian ELF executable");
	e->is64 = img[EI_CLASS] == ELFCLASS64;
	if (e->is64 ? e64->e_machine != EM_X86_64 : e32->e_machine != EM_386)
		return errf(err, n, "not an x86 ELF executable");
	e->entry = e->is64 ? e64->e_entry : e32->e_entry;
	phnum = e->is64 ? e64->e_phnum : e32->e_phnum;
	phoff = e->is64 ? e64->e_phoff : e32->e_phoff;
	for (i = 0; i < phnum; i++) {
		struct elf_segment s;
		uint32_t type;

		if (elf_phdr(img, size, phoff, i, e->is64, &s, &type))
			goto truncated;
		if (type != PT_LOAD || !s.memsz)
			continue;
		if (s.filesz > s.memsz || s.off > size || size - s.off < s.filesz ||
		    s.paddr + s.memsz < s.paddr)
			goto truncated;
		if (e->nr == ELF_MAX_SEGMENTS)
			return errf(err, n, "more than %d PT_LOAD segments",
				    ELF_MAX_SEGMENTS);
		e->seg[e->nr++] = s;
	}
	return 0;
truncated:
	return errf(err, n, "truncated or corrupt ELF file");
}

void elf_copy(const struct elf_image *e, const uint8_t *img, uint8_t *mem)
{
	unsigned int i;

	for (i = 0; i < e->nr; i++) {
		const struct elf_segment *s = &e->seg[i];

		memcpy(mem + s->paddr, img + s->off, s->filesz);
		memset(mem + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
}
