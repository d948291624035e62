// SPDX-License-Identifier: GPL-2.0
/*
 * The CMOS real-time clock (an MC146818 at ports 0x70 and 0x71): the
 * host's UTC time plus whatever offset the guest set, read in BCD or
 * binary, 24- or 12-hour, as status register B asks; the century at
 * 0x32, which the FADT names; the other bytes of its 128 are plain
 * memory.  The update cycle never shows (UIP reads 0), the clock is
 * always valid (VRT), and no alarm, periodic or update interrupt is
 * raised: the guest's tick comes from the PIT and the LAPIC.
 */
#include <string.h>
#include <time.h>

#include "vmrun.h"

#define RTC_SEC		0x00
#define RTC_MIN		0x02
#define RTC_HOUR	0x04
#define RTC_WDAY	0x06
#define RTC_MDAY	0x07
#define RTC_MON		0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d

#define REG_A_DIVIDER	0x26	/* 32.768 kHz, 1024 Hz rate: as after boot */
#define REG_B_SET	0x80	/* the guest is setting the clock */
#define REG_B_DM	0x04	/* binary, not BCD */
#define REG_B_24H	0x02
#define REG_D_VRT	0x80
#define HOUR_PM		0x80

struct rtc {
	uint8_t index;
	uint8_t ram[128];
	time_t offset;		/* guest time - host time, in seconds */
};

static uint8_t to_reg(const struct rtc *r, unsigned int v)
{
	return (r->ram[RTC_REG_B] & REG_B_DM) ? v : (v / 10) << 4 | (v % 10);
}

static unsigned int from_reg(const struct rtc *r, uint8_t v)
{
	return (r->ram[RTC_REG_B] & REG_B_DM) ? v : (v >> 4) * 10 + (v & 0xf);
}

static uint8_t hour_to_reg(const struct rtc *r, int hour)
{
	int h12;

	if (r->ram[RTC_REG_B] & REG_B_24H)
		return to_reg(r, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return to_reg(r, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static int hour_from_reg(const struct rtc *r, uint8_t v)
{
	int h;

	if (r->ram[RTC_REG_B] & REG_B_24H)
		return from_reg(r, v);
	h = from_reg(r, v & ~HOUR_PM) % 12;
	return h + (v & HOUR_PM ? 12 : 0);
}

/* The guest's time into the clock registers. */
static void rtc_latch(struct rtc *r)
{
	time_t t = time(NULL) + r->offset;
	struct tm tm;

	gmtime_r(&t, &tm);
	r->ram[RTC_SEC] = to_reg(r, tm.tm_sec);
	r->ram[RTC_MIN] = to_reg(r, tm.tm_min);
	r->ram[RTC_HOUR] = hour_to_reg(r, tm.tm_hour);
	r->ram[RTC_WDAY] = to_reg(r, tm.tm_wday + 1);
	r->ram[RTC_MDAY] = to_reg(r, tm.tm_mday);
	r->ram[RTC_MON] = to_reg(r, tm.tm_mon + 1);
	r->ram[RTC_YEAR] = to_reg(r, tm.tm_year % 100);
	r->ram[RTC_CENTURY] = to_reg(r, 19 + tm.tm_year / 100);
}

/* The clock registers, as the guest wrote them, become the offset. */
static void rtc_set(struct rtc *r)
{
	struct tm tm = {
		.tm_sec = from_reg(r, r->ram[RTC_SEC]),
		.tm_min = from_reg(r, r->ram[RTC_MIN]),
		.tm_hour = hour_from_reg(r, r->ram[RTC_HOUR]),
		.tm_mday = from_reg(r, r->ram[RTC_MDAY]),
		.tm_mon = from_reg(r, r->ram[RTC_MON]) - 1,
		.tm_year = from_reg(r, r->ram[RTC_CENTURY]) * 100 +
			   from_reg(r, r->ram[RTC_YEAR]) - 1900,
	};
	time_t t = timegm(&tm);

	if (t != (time_t)-1)
		r->offset = t - time(NULL);
}

static void rtc_pio(struct device *dev, struct vcpu *vcpu, uint64_t port,
		    bool write, uint8_t *data, unsigned int size)
{
	struct rtc *r = dev->priv;
	unsigned int reg = r->index;

	if (port == dev->base) {
		if (write)
			r->index = data[0] & 0x7f;	/* bit 7: NMI mask */
		else
			memset(data, 0xff, size);
		return;
	}
	if (write) {
		switch (reg) {
		case RTC_REG_A:
			r->ram[reg] = data[0] & 0x7f;	/* UIP is read-only */
			break;
		case RTC_REG_C:
		case RTC_REG_D:
			break;				/* read-only */
		case RTC_REG_B:
			/* Leaving SET mode starts the clock from what was set. */
			if ((r->ram[reg] & REG_B_SET) && !(data[0] & REG_B_SET)) {
				r->ram[reg] = data[0];
				rtc_set(r);
			} else {
				if (!(r->ram[reg] & REG_B_SET))
					rtc_latch(r);
				r->ram[reg] = data[0];
			}
			break;
		case RTC_SEC ... RTC_YEAR:
		case RTC_CENTURY:
			if (!(r->ram[RTC_REG_B] & REG_B_SET))
				rtc_latch(r);
			r->ram[reg] = data[0];
			if (!(r->ram[RTC_REG_B] & REG_B_SET))
				rtc_set(r);
			break;
		default:
			r->ram[reg] = data[0];
		}
		return;
	}
	if ((reg <= RTC_YEAR || reg == RTC_CENTURY) &&
	    !(r->ram[RTC_REG_B] & REG_B_SET))
		rtc_latch(r);
	memset(data, 0xff, size);
	data[0] = r->ram[reg];
	if (reg == RTC_REG_C)
		r->ram[reg] = 0;		/* reading clears the flags */
}

static int rtc_init(struct device *dev)
{
	return dev_add_pio(dev, dev->base, 2);
}

static void rtc_reset(struct device *dev)
{
	struct rtc *r = dev->priv;

	memset(r, 0, sizeof(*r));
	r->ram[RTC_REG_A] = REG_A_DIVIDER;
	r->ram[RTC_REG_B] = REG_B_24H;
	r->ram[RTC_REG_D] = REG_D_VRT;
}

const struct device_class dev_rtc = {
	.name = "rtc",
	.priv_size = sizeof(struct rtc),
	.init = rtc_init,
	.reset = rtc_reset,
	.pio = rtc_pio,
};
