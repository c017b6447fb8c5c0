/* The smallest workload for the container tests: a static binary that holds some memory,
 * burns some CPU and waits for a signal. No image can be pulled here, so the tests build
 * one from this file alone (gcc -static, then `docker import`).
 *
 *   sleeper            hold ALLOC_MB MiB (touched), burn BURN_PCT % of one core, until SIGTERM
 *   sleeper health     exit 0 (the health check)
 *   sh ...             exit 0: the image ships this binary as /bin/sh too, so that Docker's
 *                      CMD-SHELL health checks (what `docker run --health-cmd` makes) pass
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig) { (void)sig; stop = 1; }

static long env_long(const char *name, long fallback) {
    const char *v = getenv(name);
    return v ? atol(v) : fallback;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (strcmp(base, "sh") == 0) return 0;
    if (argc > 1 && strcmp(argv[1], "health") == 0) return 0;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    long mb = env_long("ALLOC_MB", 0);
    long burn = env_long("BURN_PCT", 0);
    if (mb > 0) {
        size_t n = (size_t)mb << 20;
        char *p = malloc(n);
        if (p) memset(p, 1, n);
    }
    volatile unsigned long spin = 0;
    while (!stop) {
        double start = now_ms();
        while (burn > 0 && now_ms() - start < (double)burn) spin++;
        if (burn < 100) usleep((useconds_t)((100 - burn) * 1000));
    }
    return 0;
}
