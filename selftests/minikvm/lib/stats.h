/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a KVM_GET_STATS_FD file: stats_read() takes all of it at one
 * moment, stat_get() one statistic by name.
 */
#ifndef MKVM_LIB_STATS_H
#define MKVM_LIB_STATS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>

#define STATS_NAME_SIZE	48	/* KVM_STATS_NAME_SIZE */

/* A stats file as read at one moment: header, id, descriptors, data. */
struct stats {
	struct kvm_stats_header h;
	char id[STATS_NAME_SIZE];
	size_t desc_size;		/* one descriptor and its name */
	char *desc;			/* num_desc of them */
	size_t data_size;
	uint64_t *data;
	size_t size;			/* of the whole file */
};

static inline struct kvm_stats_desc *stat_desc(const struct stats *st, int i)
{
	return (struct kvm_stats_desc *)(st->desc + i * st->desc_size);
}

static inline void stats_free(struct stats *st)
{
	free(st->desc);
	free(st->data);
}

/* Read a stats file with pread(): 0, or -1 with errno. */
static inline int stats_read(int fd, struct stats *st)
{
	uint32_t i;

	memset(st, 0, sizeof(*st));
	if (pread(fd, &st->h, sizeof(st->h), 0) != sizeof(st->h))
		return -1;
	if (st->h.name_size != STATS_NAME_SIZE)
		return errno = EPROTO, -1;
	if (pread(fd, st->id, STATS_NAME_SIZE, st->h.id_offset) != STATS_NAME_SIZE)
		return -1;
	st->desc_size = sizeof(struct kvm_stats_desc) + st->h.name_size;
	st->desc = calloc(st->h.num_desc, st->desc_size);
	if (pread(fd, st->desc, st->h.num_desc * st->desc_size,
		  st->h.desc_offset) != st->h.num_desc * st->desc_size)
		return -1;
	for (i = 0; i < st->h.num_desc; i++)
		st->data_size += stat_desc(st, i)->size * sizeof(uint64_t);
	st->data = calloc(1, st->data_size);
	if (pread(fd, st->data, st->data_size, st->h.data_offset) != st->data_size)
		return -1;
	st->size = st->h.data_offset + st->data_size;
	if (st->h.desc_offset + st->h.num_desc * st->desc_size > st->size)
		st->size = st->h.desc_offset + st->h.num_desc * st->desc_size;
	return 0;
}

/* The value of statistic @name (its first u64), or -1 if there is none. */
static inline int64_t stat_get(int fd, const char *name)
{
	struct stats st;
	int64_t v = -1;
	uint32_t i;

	if (stats_read(fd, &st))
		return -1;
	for (i = 0; i < st.h.num_desc; i++) {
		struct kvm_stats_desc *d = stat_desc(&st, i);

		if (!strcmp(d->name, name)) {
			v = st.data[d->offset / sizeof(uint64_t)];
			break;
		}
	}
	stats_free(&st);
	return v;
}

#endif /* MKVM_LIB_STATS_H */
