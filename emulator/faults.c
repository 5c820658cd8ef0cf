/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: fault injection counters and the per-device poll
 * limit (DPS: 5 polls per 10 s per device, DPS-PROTOCOL.md 1.8). */
#include "config.h"

#include <time.h>

#include "emulator/emu.h"

#define DEVID_EMU_POLL_WINDOW 10.0

void devid_emu_faults_arm(struct devid_emu_server *srv)
{
    srv->faults.left = srv->cfg->faults;
}

/* Take one from *count when it is positive. */
static int devid_emu_take(int *count)
{
    if (*count <= 0) {
        return 0;
    }
    (*count)--;
    return 1;
}

int devid_emu_faults_take(struct devid_emu_server *srv, int poll)
{
    struct devid_emu_faults *f = &srv->faults.left;

    if (devid_emu_take(poll ? &f->close_poll : &f->close_register)) {
        return -1;
    }
    if (devid_emu_take(poll ? &f->poll_429 : &f->register_429)) {
        return 429;
    }
    if (devid_emu_take(poll ? &f->poll_500 : &f->register_500)) {
        return 500;
    }
    if (devid_emu_take(poll ? &f->poll_503 : &f->register_503)) {
        return 503;
    }
    return 0;
}

static double devid_emu_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int devid_emu_faults_poll_limited(struct devid_emu_server *srv,
                                  const char *regid)
{
    double *times;
    double now = devid_emu_mono();
    int i;
    int oldest = 0;

    if (!srv->cfg->faults.poll_limit) {
        return 0;
    }
    times = devid_emu_store_poll_times(srv->store, regid);
    if (times == NULL) {
        return 0;
    }
    for (i = 1; i < 5; i++) {
        if (times[i] < times[oldest]) {
            oldest = i;
        }
    }
    /* all five slots used within the window: this is the sixth poll */
    if (times[oldest] > 0 && now - times[oldest] < DEVID_EMU_POLL_WINDOW) {
        return 1;
    }
    times[oldest] = now;
    return 0;
}
