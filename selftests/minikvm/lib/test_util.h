/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertions for the selftest library.
 *
 * The kselftest harness runs every TEST in a child process and counts it
 * failed when the child exits non-zero.  Library helpers have no
 * _metadata to hand to the harness's ASSERT_* macros, so they check with
 * TEST_ASSERT(): on failure it prints where and why as a TAP comment and
 * exits the test process with KSFT_FAIL.  It works from any thread.
 */
#ifndef MKVM_LIB_TEST_UTIL_H
#define MKVM_LIB_TEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mkvm_util.h"

#define __STR(x) #x
#define STR(x) __STR(x)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

void __test_fail(const char *file, int line, const char *expr,
		 const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

/* Fail the test (exit the process) unless @cond holds. */
#define TEST_ASSERT(cond, fmt, ...) do {				\
	if (!(cond))							\
		__test_fail(__FILE__, __LINE__, #cond, fmt, ##__VA_ARGS__); \
} while (0)

#define TEST_ASSERT_EQ(a, b) do {					\
	unsigned long long __a = (a), __b = (b);			\
	TEST_ASSERT(__a == __b, "%s is %#llx, expected %s = %#llx",	\
		    #a, __a, #b, __b);					\
} while (0)

/*
 * An ioctl that must succeed: returns its result, or fails the test
 * naming the ioctl and the errno.
 */
#define kvm_ioctl(fd, req, arg) ({					\
	long __r = __mkvm_ioctl((fd), (req), (unsigned long)(arg));	\
	TEST_ASSERT(__r >= 0, "%s failed: %s", #req, strerror(-__r));	\
	__r;								\
})

/* Print a TAP comment line ("# ...") on stderr, like TH_LOG. */
void test_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MKVM_LIB_TEST_UTIL_H */
