/*
 * diff_same: one native run against green runs; see diff_same.h. Runs in a
 * Criterion test of the runner process, not under libgreen.
 */
#include "diff_same.h"

#include <criterion/criterion.h>
#include <string.h>

/* stdout, stderr shown in a failure message are cut to this length. */
enum { SHOW = 3000 };

/* A timed wait may end this late, green, and no later (natively it is
 * well under 1 ms on an idle machine). */
enum { MAX_LATE_US = 20000 };

static void check_green(const char *name, const struct run *green, int loops,
                        int checks)
{
    if (checks & DIFF_FEW_OS_THREADS) {
        long threads = run_stderr_value(green, "os_threads_max");

        cr_expect(threads > 0 && threads <= loops + 3,
                  "%s, GREEN_LOOPS=%d: %ld OS threads at its busiest, "
                  "want 1..%d\ngreen stderr:\n%.*s",
                  name, loops, threads, loops + 3, SHOW, green->err);
    }
    if (checks & DIFF_ON_TIME) {
        long late = run_stderr_value(green, "max_late_us");

        cr_expect(late >= 0 && late < MAX_LATE_US,
                  "%s, GREEN_LOOPS=%d: a timed wait ended %ld us after its "
                  "deadline, want < %d\ngreen stderr:\n%.*s",
                  name, loops, late, MAX_LATE_US, SHOW, green->err);
    }
}

void diff_same(const struct diff_case *c)
{
    const char *name = run_name(c->prog);
    struct run native, green;
    char how[64], green_how[64];
    int rc = run_prog(c->prog, NULL, c->timeout_ms, &native);

    cr_assert_eq(rc, 0, "cannot start %s: %s", c->prog, strerror(-rc));
    /* Criterion formats a message only when the assertion fails, so its
     * arguments must not be what fills how. */
    run_describe(&native, how, sizeof(how));
    cr_assert(run_exited_with(&native, c->expect),
              "%s natively: expected exit %d, got %s\nstderr:\n%.*s", name,
              c->expect, how, SHOW, native.err);
    if (c->native_extra)
        c->native_extra(&native);
    for (const int *n = c->loops; *n; n++) {
        rc = run_prog_green(c->prog, *n, c->timeout_ms, &green);
        cr_assert_eq(rc, 0, "cannot start %s green: %s (is %s built?)", c->prog,
                     strerror(-rc), GREEN_LIB_PATH);
        run_describe(&green, green_how, sizeof(green_how));
        cr_expect(run_same_end(&native, &green),
                  "%s, GREEN_LOOPS=%d: natively %s, green %s\n"
                  "green stderr:\n%.*s",
                  name, *n, how, green_how, SHOW, green.err);
        cr_expect_str_eq(green.out, native.out,
                         "%s, GREEN_LOOPS=%d: stdout differs\n"
                         "--- native\n%.*s--- green (%s)\n%.*s"
                         "--- green stderr\n%.*s",
                         name, *n, SHOW, native.out, green_how, SHOW, green.out,
                         SHOW, green.err);
        check_green(name, &green, *n, c->checks);
        if (c->extra)
            c->extra(&green, *n);
        run_free(&green);
    }
    run_free(&native);
}
