/*
 * diff_dns: the differential tests of name resolution (issue 6). Each
 * tests/progs/dns_*.c program runs natively and under
 * LD_PRELOAD=libgreen.so, inside tests/dns/netns.c's private namespaces:
 * the files of tests/dns/etc over /etc/resolv.conf, /etc/hosts and
 * /etc/nsswitch.conf, only the loopback interface, and tests/dns/fakedns
 * answering on 127.0.0.1 from tests/dns/zone. stdout and the way the
 * process ended must be identical; 200 lookups through a server that
 * answers 300 ms late must take one round trip on few OS threads; a
 * lookup must leave the other threads running, even on one worker.
 *
 * diff_run starts programs without arguments, so each case is a symlink
 * to dns_netns in a directory of this test's own, next to the file of
 * arguments dns_netns reads when it has none (see tests/dns/netns.c).
 * dns_netns is static, so LD_PRELOAD reaches the program only, never the
 * set-up or fakedns. Where namespaces cannot be made, the tests skip.
 *
 * Runs the tests one at a time (jobs = 1 unless --jobs says otherwise),
 * since the timing bounds assume the machine is not busy with other tests.
 */
#include "diff_same.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if !defined(GREEN_LIB_PATH) || !defined(DNS_NETNS_PATH) ||                    \
    !defined(FAKEDNS_PATH) || !defined(DNS_DATA_DIR)
#error "tests/meson.build defines GREEN_LIB_PATH, DNS_*, FAKEDNS_PATH"
#endif

/* Per run; Criterion's per-test .timeout covers all the runs of a test. */
enum { RUN_TIMEOUT_MS = 20000 };

/* The bounds of issue 6 for 200 lookups answered 300 ms late: natively,
 * 200 OS threads take about 0.35 s. */
enum { PARALLEL_WALL_MS = 1500, EXTRA_OS_THREADS = 4 };

/* stdout, stderr shown in a failure message are cut to this length. */
enum { SHOW = 3000 };

/* dns_netns's exit status when namespaces are not allowed here. */
enum { EXIT_SKIP = 77 };

static const int loops_2[] = {2, 0};
static const int loops_2_1[] = {2, 1, 0};

/* This test's directory of cases, made by setup(). */
static char case_dir[64];

/* The files the tests must never change, as they were before the test. */
static const char *const watched[] = {"/etc/resolv.conf", "/etc/hosts",
                                      "/etc/nsswitch.conf"};
static char *before[sizeof(watched) / sizeof(watched[0])];

/* All of path, or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *data = NULL;
    size_t len = 0;

    if (!f)
        return NULL;
    if (getdelim(&data, &len, '\0', f) < 0) {
        free(data);
        data = strdup("");
    }
    fclose(f);
    return data;
}

static void setup(void)
{
    strcpy(case_dir, "/tmp/green-dns.XXXXXX");
    cr_assert_not_null(mkdtemp(case_dir), "mkdtemp: %s", strerror(errno));
    for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
        before[i] = slurp(watched[i]);
}

/* Removes this test's directory of cases. */
static void remove_cases(void)
{
    DIR *d = case_dir[0] ? opendir(case_dir) : NULL;
    struct dirent *e;

    /* Only what netns_case made: symlinks and .args files. */
    while (d && (e = readdir(d)) != NULL) {
        char path[sizeof(case_dir) + 256];

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", case_dir, e->d_name);
        unlink(path);
    }
    if (d) {
        closedir(d);
        rmdir(case_dir);
    }
    case_dir[0] = '\0';
}

static void teardown(void)
{
    remove_cases();
    for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
        free(before[i]);
}

TestSuite(diff_dns, .init = setup, .fini = teardown);

/* The machine's own files are as they were before the test. */
static void expect_etc_untouched(void)
{
    for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++) {
        char *now = slurp(watched[i]);

        cr_expect((!now && !before[i]) ||
                      (now && before[i] && strcmp(now, before[i]) == 0),
                  "%s changed during the test", watched[i]);
        free(now);
    }
}

/*
 * Makes the case name: a symlink to dns_netns and the file of its
 * arguments, opts (NULL-terminated) then "--" and the program. Returns
 * the path to run, in a buffer the next call reuses.
 */
static const char *netns_case(const char *name, const char *const *opts,
                              const char *prog)
{
    static char path[128];
    char args[160];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", case_dir, name);
    snprintf(args, sizeof(args), "%s.args", path);
    cr_assert_eq(symlink(DNS_NETNS_PATH, path), 0, "symlink %s: %s", path,
                 strerror(errno));
    f = fopen(args, "w");
    cr_assert_not_null(f, "%s: %s", args, strerror(errno));
    for (const char *const *o = opts; *o; o++)
        fprintf(f, "%s\n", *o);
    if (prog)
        fprintf(f, "--\n%s\n", prog);
    cr_assert_eq(fclose(f), 0, "%s: %s", args, strerror(errno));
    return path;
}

/* Skips the test unless dns_netns can make its namespaces here. */
static void need_netns(void)
{
    static const char *const probe[] = {
        "--probe", "--etc", DNS_DATA_DIR "/etc", "--hostname", "box", NULL};
    const char *path = netns_case("probe", probe, NULL);
    struct run r;
    int rc = run_prog(path, NULL, RUN_TIMEOUT_MS, &r);
    char how[64];

    cr_assert_eq(rc, 0, "cannot start %s: %s", DNS_NETNS_PATH, strerror(-rc));
    if (run_exited_with(&r, EXIT_SKIP)) {
        /* The message is dns_netns's, on its stderr. */
        char *nl = strchr(r.err, '\n');

        if (nl)
            *nl = '\0';
        remove_cases(); /* a skipped test does not get to .fini */
        cr_skip_test("no private namespaces here (%s); name resolution "
                     "tests skipped",
                     r.err);
    }
    run_describe(&r, how, sizeof(how));
    cr_assert(run_exited_with(&r, 0), "dns_netns --probe: %s\nstderr:\n%.*s",
              how, SHOW, r.err);
    run_free(&r);
}

#define COMMON_OPTS                                                            \
    "--etc", DNS_DATA_DIR "/etc", "--zone", DNS_DATA_DIR "/zone", "--fakedns", \
        FAKEDNS_PATH, "--hostname", "box"

/* The table natively and green under one configuration. */
static void table(const char *name, const char *const *opts)
{
    need_netns();
    diff_same(
        &(struct diff_case){.prog = netns_case(name, opts, PROG_DNS_TABLE),
                            .loops = loops_2,
                            .timeout_ms = RUN_TIMEOUT_MS});
    expect_etc_untouched();
}

/* Only lo, which has only loopback addresses: AI_ADDRCONFIG then finds
 * neither family configured, and refuses AF_INET and AF_INET6 outright. */
Test(diff_dns, table_answers_as_native_with_only_loopback, .timeout = 60)
{
    static const char *const opts[] = {COMMON_OPTS, NULL};

    table("table_loopback", opts);
}

/* An IPv4 address: AI_ADDRCONFIG narrows AF_UNSPEC to AF_INET, and the
 * sort of the answers prefers reachable IPv4 destinations. */
Test(diff_dns, table_answers_as_native_with_an_ipv4_address, .timeout = 60)
{
    static const char *const opts[] = {COMMON_OPTS, "--addr", "192.0.2.1/24",
                                       NULL};

    table("table_ipv4", opts);
}

/* "hosts: dns files", and addresses of both families. */
Test(diff_dns, table_answers_as_native_asking_dns_before_files, .timeout = 60)
{
    static const char *const opts[] = {COMMON_OPTS,
                                       "--etc",
                                       DNS_DATA_DIR "/etc-dnsfirst",
                                       "--addr",
                                       "192.0.2.1/24",
                                       "--addr",
                                       "2001:db8::1/64",
                                       NULL};

    table("table_dnsfirst", opts);
}

static void parallel_bounds(const struct run *green, int loops)
{
    long wall = run_stderr_value(green, "wall_ms");
    long threads = run_stderr_value(green, "os_threads_max");

    cr_expect(wall >= 0 && wall < PARALLEL_WALL_MS,
              "dns_parallel, GREEN_LOOPS=%d: 200 lookups took %ld ms, want "
              "< %d\ngreen stderr:\n%.*s",
              loops, wall, PARALLEL_WALL_MS, SHOW, green->err);
    cr_expect(threads > 0 && threads <= loops + EXTRA_OS_THREADS,
              "dns_parallel, GREEN_LOOPS=%d: %ld OS threads at its busiest, "
              "want 1..%d\ngreen stderr:\n%.*s",
              loops, threads, loops + EXTRA_OS_THREADS, SHOW, green->err);
}

Test(diff_dns, parallel_200_lookups_take_one_round_trip_on_few_os_threads,
     .timeout = 80)
{
    static const char *const opts[] = {COMMON_OPTS, NULL};

    need_netns();
    diff_same(&(struct diff_case){
        .prog = netns_case("parallel", opts, PROG_DNS_PARALLEL),
        .loops = loops_2_1,
        .timeout_ms = RUN_TIMEOUT_MS,
        .extra = parallel_bounds});
    expect_etc_untouched();
}

/* On one worker, a lookup that held its OS thread would stop the ticker
 * that shares it. */
Test(diff_dns, lookups_leave_other_threads_running_even_on_one_worker,
     .timeout = 80)
{
    static const char *const opts[] = {COMMON_OPTS, NULL};

    need_netns();
    diff_same(&(struct diff_case){
        .prog = netns_case("alongside", opts, PROG_DNS_ALONGSIDE),
        .loops = loops_2_1,
        .timeout_ms = RUN_TIMEOUT_MS});
    expect_etc_untouched();
}

/* A hosts source c-ares does not serve: glibc's own lookups on the thread
 * pool, with the same answers, and the ticker still runs on one worker. */
Test(diff_dns, other_sources_go_to_glibc_without_freezing_the_worker,
     .timeout = 80)
{
    static const char *const opts[] = {COMMON_OPTS, "--etc",
                                       DNS_DATA_DIR "/etc-othersource", NULL};

    need_netns();
    diff_same(&(struct diff_case){
        .prog = netns_case("othersource", opts, PROG_DNS_ALONGSIDE),
        .loops = loops_2_1,
        .timeout_ms = RUN_TIMEOUT_MS});
    expect_etc_untouched();
}

/* etc-timeout's resolv.conf says "timeout:1 attempts:1": a silent server
 * costs one second and gives EAI_AGAIN, TRY_AGAIN..., as glibc has them. */
Test(diff_dns, unanswered_lookups_time_out_as_resolv_conf_says, .timeout = 80)
{
    static const char *const opts[] = {COMMON_OPTS, "--etc",
                                       DNS_DATA_DIR "/etc-timeout", NULL};

    need_netns();
    diff_same(&(struct diff_case){
        .prog = netns_case("timeout", opts, PROG_DNS_TIMEOUT),
        .loops = loops_2_1,
        .timeout_ms = RUN_TIMEOUT_MS});
    expect_etc_untouched();
}

int main(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;

    criterion_options.jobs = 1; /* --jobs on the command line still wins */
    if (criterion_handle_args(argc, argv, true))
        result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}
