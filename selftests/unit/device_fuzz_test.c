// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of vmrun's device models, fuzzed on the build machine:
 * every register of the Linux platform's devices (UART, PM1 and the
 * keyboard controller, CMOS RTC, pvpanic, exit and boot-timer ports, virtio-mmio
 * disk and entropy device) gets garbage of every width through the same
 * bus dispatch a vCPU's exits take, while the guest's memory (its
 * virtqueues' rings and buffers) is garbage too, rewritten as it goes,
 * and console input arrives now and then.  A driver's setup sequence and
 * request-shaped chains now and then take the garbage deep into the
 * queues and the disk's requests.
 * Built with AddressSanitizer and UBSan (selftests/unit/run.sh), so an
 * out-of-bounds access or undefined behaviour ends the test.  Checked
 * besides: a read-only disk image keeps every byte, a writable one its
 * size, and every stop the guest caused was a power-off, a reset or a
 * panic.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "kselftest_harness.h"
#include "vmrun.h"

#define MEM_SIZE	(1 << 20)
#define DISK_SIZE	(256 << 10)
#define ROUNDS		400000

/* vmrun.c's and io.c's side, which the devices call. */
static unsigned int stops[STOP_REBOOT + 2];

void vm_stop(struct vm *vm, enum vm_stop why, int status)
{
	stops[why < ARRAY_SIZE(stops) ? why : ARRAY_SIZE(stops) - 1]++;
}

bool vm_stopping(struct vm *vm)
{
	return false;
}

int io_add(struct vm *vm, int fd, void (*fn)(struct vm *, int, void *),
	   void *arg)
{
	return -1;
}

void io_console_resume(struct vm *vm)
{
}

static uint64_t state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

/* Mostly values a driver would write near its rings; sometimes anything. */
static uint32_t value(void)
{
	switch (rnd() % 6) {
	case 0:
		return rnd();
	case 1:
		return rnd() % MEM_SIZE;
	case 2:
		return rnd() % 300;
	case 3:
		return rnd() % 2;
	case 4:
		return 0xffffffff;
	default:
		return rnd() & 0xff;
	}
}

static const uint16_t ports[][2] = {
	{ 0x3f8, 8 }, { 0x60, 1 }, { 0x64, 1 }, { 0x70, 2 },
	{ ACPI_PM1_EVT, 6 }, { EXIT_PORT, 1 }, { BOOT_TIMER_PORT, 1 },
	{ PVPANIC_PORT, 1 },
};

/* A virtio register: the standard ones mostly, any offset sometimes. */
static uint64_t virtio_reg(void)
{
	static const uint16_t regs[] = {
		VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
		VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL,
		VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY,
		VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_ACK,
		VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW,
		VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
		VIRTIO_MMIO_QUEUE_AVAIL_HIGH, VIRTIO_MMIO_QUEUE_USED_LOW,
		VIRTIO_MMIO_QUEUE_USED_HIGH, VIRTIO_MMIO_CONFIG,
		VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION,
		VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
		VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_CONFIG_GENERATION,
	};

	if (rnd() % 8 == 0)
		return rnd() % VIRTIO_SLOT_SIZE;
	return regs[rnd() % ARRAY_SIZE(regs)];
}

/* A driver's view of one device's queue 0. */
struct driver {
	uint64_t base;
	uint64_t desc, avail, used;
	uint16_t num, idx;
};

static void mmio_w(struct vcpu *vcpu, uint64_t gpa, uint32_t val)
{
	dev_mmio(vcpu, gpa, true, (uint8_t *)&val, 4);
}

/* A ring's place: in memory mostly, straddling its end sometimes. */
static uint64_t ring_at(uint64_t size)
{
	if (rnd() % 16 == 0)
		return MEM_SIZE - size / 2;
	return (rnd() % (MEM_SIZE - size)) & ~15ULL;
}

/*
 * The driver's setup as Linux does it (reset, features, queue 0 with
 * rings somewhere in memory, DRIVER_OK), so that the garbage that
 * follows reaches the queues and the requests.
 */
static void driver_setup(struct vcpu *vcpu, struct driver *d)
{
	uint32_t ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	d->num = 1 << (rnd() % 9);
	d->desc = ring_at(16 * d->num);
	d->avail = ring_at(6 + 2 * d->num);
	d->used = ring_at(6 + 8 * d->num);
	d->idx = 0;
	mmio_w(vcpu, d->base + VIRTIO_MMIO_STATUS, 0);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_STATUS, ok);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_DRIVER_FEATURES, 1);	/* VERSION_1 */
	ok |= VIRTIO_CONFIG_S_FEATURES_OK;
	mmio_w(vcpu, d->base + VIRTIO_MMIO_STATUS, ok);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_SEL, 0);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_NUM, d->num);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_DESC_LOW, d->desc);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_AVAIL_LOW, d->avail);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_USED_LOW, d->used);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_READY, 1);
	mmio_w(vcpu, d->base + VIRTIO_MMIO_STATUS, ok | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* A buffer's address and length: mostly in memory, sometimes anything. */
static void buffer(struct vring_desc *desc, uint32_t len)
{
	desc->len = rnd() % 8 ? len : rnd();
	desc->addr = rnd() % 8 ? rnd() % (MEM_SIZE - len) : rnd();
}

/*
 * Requests for d's queue, then its kick: virtio-blk's three-descriptor
 * chains (header, data, status) of any type and sector, and chains of
 * garbage; the avail index moves by one, by a few, or by anything.
 */
static void requests(struct vcpu *vcpu, struct vm *vm, struct driver *d)
{
	struct vring_desc *desc = (void *)(vm->mem + d->desc);
	struct vring_avail *avail = (void *)(vm->mem + d->avail);
	unsigned int i, n = 1 + rnd() % 4;

	if (d->desc + 16 * d->num > MEM_SIZE || d->avail + 4 + 2 * d->num > MEM_SIZE)
		return;
	for (i = 0; i < n; i++) {
		uint16_t h = rnd() % d->num;

		if (rnd() % 2 && d->num >= 3) {
			static const uint32_t types[] = {
				VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
				VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, 77,
			};
			uint16_t a = h, b = (h + 1) % d->num, c = (h + 2) % d->num;
			struct virtio_blk_outhdr hdr = {
				.type = types[rnd() % ARRAY_SIZE(types)],
				.sector = rnd() % 4 ? rnd() % (DISK_SIZE / 512 + 8) : rnd(),
			};
			bool in = rnd() % 2;

			buffer(&desc[a], sizeof(hdr));
			if (desc[a].addr + sizeof(hdr) <= MEM_SIZE)
				memcpy(vm->mem + desc[a].addr, &hdr, sizeof(hdr));
			desc[a].flags = VRING_DESC_F_NEXT;
			desc[a].next = b;
			buffer(&desc[b], 512 * (1 + rnd() % 16));
			desc[b].flags = VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0);
			desc[b].next = c;
			buffer(&desc[c], 1);
			desc[c].flags = VRING_DESC_F_WRITE;
		} else {
			unsigned int j, len = 1 + rnd() % 4;

			for (j = 0; j < len; j++) {
				struct vring_desc *x = &desc[(h + j) % d->num];

				buffer(x, rnd() % 4096);
				x->flags = rnd() % 8 ? (j + 1 < len ? VRING_DESC_F_NEXT : 0) |
					   (rnd() % 2 ? VRING_DESC_F_WRITE : 0) : rnd();
				x->next = rnd() % 8 ? (h + j + 1) % d->num : rnd();
			}
		}
		avail->ring[d->idx % d->num] = rnd() % 16 ? h : rnd();
		d->idx++;
	}
	if (rnd() % 16 == 0)
		d->idx += rnd();
	avail->idx = d->idx;
	mmio_w(vcpu, d->base + VIRTIO_MMIO_QUEUE_NOTIFY, rnd() % 16 ? 0 : rnd());
}

static void make_disk(char *path, uint8_t *copy)
{
	int fd;
	unsigned int i;

	strcpy(path, "/tmp/device_fuzz.XXXXXX");
	fd = mkstemp(path);
	for (i = 0; i < DISK_SIZE; i++)
		copy[i] = rnd();
	if (fd < 0 || write(fd, copy, DISK_SIZE) != DISK_SIZE)
		abort();
	close(fd);
}

static void fuzz(struct __test_metadata *_metadata, bool readonly)
{
	static uint8_t before[DISK_SIZE], after[DISK_SIZE];
	struct virtio_slot slots[VIRTIO_MAX_DEVS];
	struct driver drv[VIRTIO_MAX_DEVS];
	struct device *uart;
	struct vm_config cfg;
	struct vcpu vcpu = { 0 };
	struct vm vm = { 0 };
	unsigned int i, n, nslots;
	struct stat st;
	int fd;

	memset(stops, 0, sizeof(stops));
	config_init(&cfg);
	strcpy(cfg.name, "device_fuzz");
	make_disk(cfg.disk, before);
	cfg.disk_readonly = readonly;
	cfg.rng = true;
	vm.cfg = &cfg;
	vm.fd = vm.sys_fd = -1;
	vm.console_fd = -1;
	vm.mem_size = vm.low_size = MEM_SIZE;
	vm.mem = aligned_alloc(4096, MEM_SIZE);
	ASSERT_NE(NULL, vm.mem);
	for (i = 0; i < MEM_SIZE; i++)
		vm.mem[i] = rnd();
	vcpu.vm = &vm;
	uart = dev_create(&vm, &dev_uart, "uart0", 0x3f8, 4);
	ASSERT_NE(NULL, uart);
	ASSERT_NE(NULL, dev_create(&vm, &dev_exit, "exit", EXIT_PORT, -1));
	ASSERT_NE(NULL, dev_create(&vm, &dev_boot_timer, "boot-timer",
				   BOOT_TIMER_PORT, -1));
	ASSERT_NE(NULL, dev_create(&vm, &dev_pm, "acpi-pm", ACPI_PM1_EVT,
				   ACPI_SCI_IRQ));
	ASSERT_NE(NULL, dev_create(&vm, &dev_kbc, "i8042", 0x60, -1));
	ASSERT_NE(NULL, dev_create(&vm, &dev_rtc, "rtc", 0x70, 8));
	ASSERT_NE(NULL, dev_create(&vm, &dev_pvpanic, "pvpanic", PVPANIC_PORT, -1));
	nslots = virtio_slots(&cfg, slots);
	ASSERT_EQ(2, nslots);
	for (i = 0; i < nslots; i++)
		ASSERT_NE(NULL, dev_create_arg(&vm, &dev_virtio_mmio, slots[i].name,
					       slots[i].base, slots[i].gsi,
					       slots[i].type)) TH_LOG("%s", cfg.error);
	for (i = 0; i < nslots; i++) {
		drv[i] = (struct driver){ .base = slots[i].base };
		driver_setup(&vcpu, &drv[i]);
	}

	for (n = 0; n < ROUNDS; n++) {
		static const unsigned int sizes[] = { 1, 2, 4, 8 };
		unsigned int size = sizes[rnd() % 4];
		bool write = rnd() % 3;
		uint8_t data[8];
		uint64_t v = value();

		memcpy(data, &v, sizeof(data));
		/* The rings and buffers change under the devices. */
		if (rnd() % 16 == 0)
			for (i = 0; i < 64; i++)
				vm.mem[rnd() % MEM_SIZE] = rnd();
		if (rnd() % 64 == 0) {
			/* Console input, up to what vmrun reads at once. */
			uint8_t in[256];

			for (i = 0; i < sizeof(in); i++)
				in[i] = rnd();
			pthread_mutex_lock(&uart->lock);
			uart_input(uart, in, rnd() % sizeof(in));
			pthread_mutex_unlock(&uart->lock);
		} else if (rnd() % 4096 == 0) {
			driver_setup(&vcpu, &drv[rnd() % nslots]);
		} else if (rnd() % 8 == 0) {
			struct driver *d = &drv[rnd() % nslots];

			requests(&vcpu, &vm, d);
			/* A broken device comes back after a reset. */
			if (rnd() % 64 == 0)
				driver_setup(&vcpu, d);
		} else if (rnd() % 2) {
			uint64_t gpa = slots[rnd() % nslots].base + virtio_reg();

			dev_mmio(&vcpu, gpa, write, data, size);
		} else {
			const uint16_t *p = ports[rnd() % ARRAY_SIZE(ports)];
			uint16_t port = rnd() % 64 ? p[0] + rnd() % p[1] : rnd();

			dev_pio(&vcpu, port, write, data, size > 4 ? 4 : size);
		}
	}
	dev_free_all(&vm);
	free(vm.mem);

	fd = open(cfg.disk, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(DISK_SIZE, st.st_size);
	ASSERT_EQ(DISK_SIZE, read(fd, after, DISK_SIZE));
	close(fd);
	unlink(cfg.disk);
	if (readonly)
		EXPECT_EQ(0, memcmp(before, after, DISK_SIZE));
	/* Only the stops a guest may ask for: power-off, reset, panic. */
	for (i = 0; i < ARRAY_SIZE(stops); i++)
		if (i != STOP_POWEROFF && i != STOP_REBOOT && i != STOP_CRASH)
			EXPECT_EQ(0, stops[i]) TH_LOG("stop %u", i);
	TH_LOG("%u accesses; stops: %u power-off, %u reboot, %u panic", ROUNDS,
	       stops[STOP_POWEROFF], stops[STOP_REBOOT], stops[STOP_CRASH]);
}

/* Guest addresses to vmrun's: low RAM at 0, the rest at 4G, nothing across. */
TEST(gpa_translation)
{
	static uint8_t buf[3 << 12];
	uint8_t *mem = buf;
	struct vm vm = { .mem = mem, .mem_size = sizeof(buf), .low_size = 2 << 12 };

	EXPECT_EQ((void *)mem, vm_gpa(&vm, 0, 2 << 12));
	EXPECT_EQ((void *)mem + 0x1ff0, vm_gpa(&vm, 0x1ff0, 16));
	EXPECT_EQ((void *)NULL, vm_gpa(&vm, 0x1ff0, 17));
	EXPECT_EQ((void *)NULL, vm_gpa(&vm, 2 << 12, 1));
	EXPECT_EQ((void *)mem + (2 << 12), vm_gpa(&vm, 1ULL << 32, 4096));
	EXPECT_EQ((void *)mem + (3 << 12) - 1, vm_gpa(&vm, (1ULL << 32) + 4095, 1));
	EXPECT_EQ((void *)NULL, vm_gpa(&vm, (1ULL << 32) + 4095, 2));
	EXPECT_EQ((void *)NULL, vm_gpa(&vm, (1ULL << 32) - 1, 2));
	EXPECT_EQ((void *)NULL, vm_gpa(&vm, -1ULL, 1));
	EXPECT_EQ((void *)NULL, vm_gpa(&vm, 0, -1ULL));
}

TEST(read_only_disk)
{
	fuzz(_metadata, true);
}

TEST(writable_disk)
{
	fuzz(_metadata, false);
}

TEST_HARNESS_MAIN
