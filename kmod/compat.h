/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels we support (Debian's 6.1 and 6.12).
 * Everything version-dependent lives here and nowhere else.
 */
#ifndef MINIKVM_COMPAT_H
#define MINIKVM_COMPAT_H

#include <linux/version.h>

#endif /* MINIKVM_COMPAT_H */
