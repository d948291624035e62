// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of vmrun's CMOS clock (user/dev_rtc.c) through
 * the port bus (user/device.c, user/bus.c): the host's UTC time in BCD
 * and binary, 24- and 12-hour, the century, a time the guest sets, the
 * status registers, and CMOS memory.  Built and run by
 * selftests/unit/run.sh.
 */
#include <time.h>

#include "kselftest_harness.h"
#include "vmrun.h"

FIXTURE(rtc) {
	struct vm_config cfg;
	struct vm vm;
	struct vcpu vcpu;
};

FIXTURE_SETUP(rtc)
{
	memset(&self->cfg, 0, sizeof(self->cfg));
	strcpy(self->cfg.name, "rtc_test");
	memset(&self->vm, 0, sizeof(self->vm));
	self->vm.cfg = &self->cfg;
	self->vm.fd = -1;
	self->vcpu.vm = &self->vm;
	ASSERT_NE(NULL, dev_create(&self->vm, &dev_rtc, "rtc", 0x70, 8));
}

FIXTURE_TEARDOWN(rtc)
{
	dev_free_all(&self->vm);
}

static uint8_t rd(struct vcpu *vcpu, uint8_t reg)
{
	uint8_t v = reg;

	dev_pio(vcpu, 0x70, true, &v, 1);
	dev_pio(vcpu, 0x71, false, &v, 1);
	return v;
}

static void wr(struct vcpu *vcpu, uint8_t reg, uint8_t val)
{
	dev_pio(vcpu, 0x70, true, &reg, 1);
	dev_pio(vcpu, 0x71, true, &val, 1);
}

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* The clock's time from its registers (BCD or binary, 24-hour). */
static time_t read_time(struct vcpu *vcpu, bool binary)
{
	int (*f)(uint8_t) = binary ? NULL : bcd;
	struct tm tm = { 0 };

#define R(reg) (f ? f(rd(vcpu, reg)) : rd(vcpu, reg))
	tm.tm_sec = R(0);
	tm.tm_min = R(2);
	tm.tm_hour = R(4);
	tm.tm_mday = R(7);
	tm.tm_mon = R(8) - 1;
	tm.tm_year = R(0x32) * 100 + R(9) - 1900;
#undef R
	return timegm(&tm);
}

TEST_F(rtc, status_after_reset)
{
	uint8_t v = 0x8d;

	EXPECT_EQ(0x26, rd(&self->vcpu, 0x0a));		/* no UIP */
	EXPECT_EQ(0x02, rd(&self->vcpu, 0x0b));		/* 24h, BCD */
	EXPECT_EQ(0x00, rd(&self->vcpu, 0x0c));
	EXPECT_EQ(0x80, rd(&self->vcpu, 0x0d));		/* valid */
	/* The index port reads as all ones; bit 7 (NMI mask) is dropped. */
	dev_pio(&self->vcpu, 0x70, true, &v, 1);
	v = 0;
	dev_pio(&self->vcpu, 0x71, false, &v, 1);
	EXPECT_EQ(0x80, v);
	dev_pio(&self->vcpu, 0x70, false, &v, 1);
	EXPECT_EQ(0xff, v);
}

TEST_F(rtc, host_time_in_bcd_and_binary)
{
	time_t now = time(NULL), t;

	t = read_time(&self->vcpu, false);
	EXPECT_LE(now - 1, t);
	EXPECT_GE(now + 2, t);
	wr(&self->vcpu, 0x0b, 0x06);			/* binary, 24h */
	t = read_time(&self->vcpu, true);
	EXPECT_LE(now - 1, t);
	EXPECT_GE(now + 2, t);
}

TEST_F(rtc, twelve_hour_mode)
{
	time_t now = time(NULL);
	struct tm tm;
	uint8_t h;
	int want;

	wr(&self->vcpu, 0x0b, 0x04);			/* binary, 12h */
	h = rd(&self->vcpu, 4);
	gmtime_r(&now, &tm);
	want = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
	/* Unless the hour turned between the two reads. */
	if ((h & 0x7f) != want)
		gmtime_r(&(time_t){ time(NULL) }, &tm);
	want = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
	EXPECT_EQ(want, h & 0x7f);
	EXPECT_EQ(tm.tm_hour >= 12, !!(h & 0x80));
}

TEST_F(rtc, guest_sets_the_time)
{
	time_t t;

	/* SET, then 2001-02-03 04:05:06 in BCD, then run. */
	wr(&self->vcpu, 0x0b, 0x82);
	wr(&self->vcpu, 0, 0x06);
	wr(&self->vcpu, 2, 0x05);
	wr(&self->vcpu, 4, 0x04);
	wr(&self->vcpu, 7, 0x03);
	wr(&self->vcpu, 8, 0x02);
	wr(&self->vcpu, 9, 0x01);
	wr(&self->vcpu, 0x32, 0x20);
	/* While SET holds, the registers keep what was written. */
	EXPECT_EQ(0x06, rd(&self->vcpu, 0));
	wr(&self->vcpu, 0x0b, 0x02);
	t = read_time(&self->vcpu, false);
	EXPECT_LE(981173106, t);
	EXPECT_GE(981173106 + 2, t);
	/* One field alone, outside SET: the year, ten years on. */
	wr(&self->vcpu, 9, 0x11);
	t = read_time(&self->vcpu, false);
	EXPECT_LE(981173106 + 3652 * 86400, t);
	EXPECT_GE(981173106 + 3652 * 86400 + 3, t);
}

TEST_F(rtc, cmos_memory_and_read_only_registers)
{
	wr(&self->vcpu, 0x40, 0x5a);
	wr(&self->vcpu, 0x7f, 0xa5);
	EXPECT_EQ(0x5a, rd(&self->vcpu, 0x40));
	EXPECT_EQ(0xa5, rd(&self->vcpu, 0x7f));
	wr(&self->vcpu, 0x0d, 0x00);
	EXPECT_EQ(0x80, rd(&self->vcpu, 0x0d));
	wr(&self->vcpu, 0x0a, 0xa6);			/* UIP stays 0 */
	EXPECT_EQ(0x26, rd(&self->vcpu, 0x0a));
}

TEST_HARNESS_MAIN
