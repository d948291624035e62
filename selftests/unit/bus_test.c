// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of vmrun's buses (user/bus.c): ranges kept
 * sorted, overlaps and empty or wrapping ranges refused, lookups at
 * every edge.  Built and run by selftests/unit/run.sh.
 */
#include <errno.h>

#include "kselftest_harness.h"
#include "vmrun.h"

static struct device a, b, c;

FIXTURE(bus) {
	struct bus bus;
};

FIXTURE_SETUP(bus)
{
	memset(&self->bus, 0, sizeof(self->bus));
}

FIXTURE_TEARDOWN(bus)
{
	bus_free(&self->bus);
}

TEST_F(bus, lookups_at_the_edges)
{
	const struct bus_range *r;

	/* Added out of order: the lookups must not care. */
	ASSERT_EQ(0, bus_add(&self->bus, 0x3f8, 8, &a));
	ASSERT_EQ(0, bus_add(&self->bus, 0x20, 2, &b));
	ASSERT_EQ(0, bus_add(&self->bus, 0x400, 1, &c));
	ASSERT_EQ(3, self->bus.nr);
	EXPECT_EQ(0x20, self->bus.range[0].base);
	EXPECT_EQ(0x3f8, self->bus.range[1].base);
	EXPECT_EQ(0x400, self->bus.range[2].base);

	EXPECT_EQ(NULL, bus_find(&self->bus, 0x1f));
	EXPECT_EQ(&b, bus_find(&self->bus, 0x20)->dev);
	EXPECT_EQ(&b, bus_find(&self->bus, 0x21)->dev);
	EXPECT_EQ(NULL, bus_find(&self->bus, 0x22));
	EXPECT_EQ(NULL, bus_find(&self->bus, 0x3f7));
	r = bus_find(&self->bus, 0x3ff);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(&a, r->dev);
	EXPECT_EQ(0x3f8, r->base);
	EXPECT_EQ(&c, bus_find(&self->bus, 0x400)->dev);
	EXPECT_EQ(NULL, bus_find(&self->bus, 0x401));
	EXPECT_EQ(NULL, bus_find(&self->bus, ~0ULL));
}

TEST_F(bus, empty_bus_finds_nothing)
{
	EXPECT_EQ(NULL, bus_find(&self->bus, 0));
	EXPECT_EQ(NULL, bus_find(&self->bus, 0x3f8));
}

TEST_F(bus, overlaps_are_refused)
{
	ASSERT_EQ(0, bus_add(&self->bus, 0x100, 0x10, &a));
	ASSERT_EQ(0, bus_add(&self->bus, 0x200, 0x10, &b));
	/* Each edge of each neighbour, and a range that covers one. */
	errno = 0;
	EXPECT_EQ(-1, bus_add(&self->bus, 0x10f, 1, &c));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, bus_add(&self->bus, 0xf0, 0x11, &c));
	EXPECT_EQ(-1, bus_add(&self->bus, 0x1ff, 2, &c));
	EXPECT_EQ(-1, bus_add(&self->bus, 0x20f, 1, &c));
	EXPECT_EQ(-1, bus_add(&self->bus, 0x0, 0x1000, &c));
	EXPECT_EQ(-1, bus_add(&self->bus, 0x100, 0x10, &c));
	EXPECT_EQ(2, self->bus.nr);
	/* Touching is not overlapping. */
	EXPECT_EQ(0, bus_add(&self->bus, 0xf0, 0x10, &c));
	EXPECT_EQ(0, bus_add(&self->bus, 0x110, 0xf0, &c));
	EXPECT_EQ(0, bus_add(&self->bus, 0x210, 1, &c));
	EXPECT_EQ(5, self->bus.nr);
	EXPECT_EQ(&a, bus_find(&self->bus, 0x10f)->dev);
	EXPECT_EQ(&c, bus_find(&self->bus, 0x110)->dev);
	EXPECT_EQ(&c, bus_find(&self->bus, 0x1ff)->dev);
	EXPECT_EQ(&b, bus_find(&self->bus, 0x200)->dev);
}

TEST_F(bus, empty_and_wrapping_ranges_are_refused)
{
	errno = 0;
	EXPECT_EQ(-1, bus_add(&self->bus, 0x100, 0, &a));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, bus_add(&self->bus, ~0ULL, 2, &a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, self->bus.nr);
	/* The last byte of the address space is a range like any other. */
	EXPECT_EQ(0, bus_add(&self->bus, ~0ULL - 7, 8, &a));
	EXPECT_EQ(&a, bus_find(&self->bus, ~0ULL)->dev);
	EXPECT_EQ(NULL, bus_find(&self->bus, ~0ULL - 8));
}

TEST_HARNESS_MAIN
