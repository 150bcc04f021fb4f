/*
 * launcher_install: `meson install` of this build into a fresh DESTDIR.
 * It must put libgreen.so, green, green(1) and libgreen(7) (and compare's
 * files) where this build's prefix says, and the installed green must
 * preload the installed libgreen.so, not the build tree's. The installed
 * manual pages must render with man -l, and libgreen(7) must name every
 * GREEN_* variable, every field of a real GREEN_STATS report and every
 * function libgreen exports (tests/exports.txt).
 */
#include "cmd_run.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef INSTALL_BINDIR
#error "tests/meson.build defines the INSTALL_* paths, BUILD_ROOT, MESON"
#endif

/* This build installed into a new directory, and the paths in it. */
struct installed {
    char destdir[64];
    char green[PATH_MAX];
    char lib[PATH_MAX];
    char man1[PATH_MAX];
    char man7[PATH_MAX];
    char measure[PATH_MAX];
    char http_sh[PATH_MAX];
    char compare_sh[PATH_MAX];
};

static void install(struct installed *in)
{
    const char *argv[] = {MESON,          "install",   "-C",        BUILD_ROOT,
                          "--no-rebuild", "--destdir", in->destdir, NULL};
    struct cmd_opts opts = {.timeout_ms = 60000};
    struct cmd c;
    char how[64];

    snprintf(in->destdir, sizeof(in->destdir), "/tmp/green-install-XXXXXX");
    cr_assert_not_null(mkdtemp(in->destdir));
    cr_assert_eq(cmd_run(argv, &opts, &c), 0, "cannot run %s", MESON);
    cr_assert(cmd_exited_with(&c, 0), "meson install: %s\n%s\n%s",
              cmd_describe(&c, how, sizeof(how)), c.out, c.err);
    cmd_free(&c);
    snprintf(in->green, PATH_MAX, "%s%s/green", in->destdir, INSTALL_BINDIR);
    snprintf(in->lib, PATH_MAX, "%s%s/libgreen.so", in->destdir,
             INSTALL_LIBDIR);
    snprintf(in->man1, PATH_MAX, "%s%s/man1/green.1", in->destdir,
             INSTALL_MANDIR);
    snprintf(in->man7, PATH_MAX, "%s%s/man7/libgreen.7", in->destdir,
             INSTALL_MANDIR);
    snprintf(in->measure, PATH_MAX, "%s%s/measure", in->destdir,
             INSTALL_HELPERDIR);
    snprintf(in->http_sh, PATH_MAX, "%s%s/http.sh", in->destdir,
             INSTALL_HELPERDIR);
    snprintf(in->compare_sh, PATH_MAX, "%s%s/compare.sh", in->destdir,
             INSTALL_HELPERDIR);
}

static void uninstall(struct installed *in)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", in->destdir);
    cr_expect_eq(system(cmd), 0);
}

/* man -l PATH, as plain text on one line per paragraph (wide enough that
 * no name is broken). */
static char *render(const char *path)
{
    const char *argv[] = {"man", "--warnings", "-l", path, NULL};
    const char *env[] = {"MANPAGER=cat", "MANWIDTH=1000", "LC_ALL=C.UTF-8",
                         NULL};
    struct cmd_opts opts = {.env = env};
    struct cmd c;
    char how[64], *out;

    cr_assert_eq(cmd_run(argv, &opts, &c), 0, "cannot run man");
    cr_assert(cmd_exited_with(&c, 0), "man -l %s: %s\n%s", path,
              cmd_describe(&c, how, sizeof(how)), c.err);
    cr_expect_eq(c.err_len, 0, "man -l %s warns:\n%s", path, c.err);
    out = c.out;
    c.out = NULL;
    cmd_free(&c);
    return out;
}

Test(launcher_install, installs_four_files_and_green_finds_its_library,
     .timeout = 120)
{
    const char *env_argv[] = {NULL, "--", "env", NULL};
    const char *stats_argv[] = {NULL, "--stats", PROG_RETURN_STATUS, NULL};
    const char *version_argv[] = {NULL, "--version", NULL};
    char want[PATH_MAX + 32], lib[PATH_MAX], how[64], *script;
    struct installed in;
    struct stat st;
    struct cmd c;

    install(&in);
    cr_assert_eq(stat(in.green, &st), 0, "no %s", in.green);
    cr_expect((st.st_mode & 0111) == 0111, "%s is not executable", in.green);
    cr_expect_eq(stat(in.lib, &st), 0, "no %s", in.lib);
    cr_expect_eq(stat(in.man1, &st), 0, "no %s", in.man1);
    cr_expect_eq(stat(in.man7, &st), 0, "no %s", in.man7);
    cr_expect_eq(stat(in.measure, &st), 0, "no %s", in.measure);
    cr_expect_eq(stat(in.http_sh, &st), 0, "no %s", in.http_sh);
    cr_expect_eq(stat(in.compare_sh, &st), 0, "no %s", in.compare_sh);

    /* It knows nothing of the trees it was built from. */
    script = cmd_read_file(in.green, NULL);
    cr_assert_not_null(script);
    cr_expect_null(strstr(script, BUILD_ROOT), "%s names %s", in.green,
                   BUILD_ROOT);
    cr_expect_null(strstr(script, SOURCE_ROOT), "%s names %s", in.green,
                   SOURCE_ROOT);
    free(script);

    env_argv[0] = stats_argv[0] = version_argv[0] = in.green;
    cr_assert_not_null(realpath(in.lib, lib));
    cr_assert_eq(cmd_run(env_argv, NULL, &c), 0);
    cr_expect(cmd_exited_with(&c, 0), "%s", c.err);
    snprintf(want, sizeof(want), "\nLD_PRELOAD=%s\n", lib);
    cr_expect(strstr(c.out, want) != NULL, "want %s in:\n%s", want + 1, c.out);
    cmd_free(&c);

    /* And that library runs the program green. */
    cr_assert_eq(cmd_run(stats_argv, NULL, &c), 0);
    cr_expect(cmd_exited_with(&c, 7), "%s\n%s",
              cmd_describe(&c, how, sizeof(how)), c.err);
    cr_expect(strncmp(c.err, "libgreen stats: pid ", 20) == 0, "%s", c.err);
    cr_expect(strstr(c.err, "\nthreads_created 2\n") != NULL, "%s", c.err);
    cmd_free(&c);

    cr_assert_eq(cmd_run(version_argv, NULL, &c), 0);
    cr_expect_str_eq(c.out, "green (libgreen) " GREEN_VERSION "\n");
    cmd_free(&c);
    uninstall(&in);
}

static bool name_char(char c)
{
    return c == '_' || isalnum((unsigned char)c);
}

/* Whether text has name as a whole word (not part of a longer name). */
static bool names(const char *text, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = text; (p = strstr(p, name)); p++) {
        bool before = p == text || !name_char(p[-1]);
        bool after = !name_char(p[n]);

        if (before && after)
            return true;
    }
    return false;
}

/* A worker's field as the manual names it: loop0_iterations is
 * loopN_iterations. */
static void generic_loop_name(char *field)
{
    char *rest;

    if (strncmp(field, "loop", 4) != 0 || !isdigit((unsigned char)field[4]))
        return;
    rest = field + 4 + strspn(field + 4, "0123456789");
    field[4] = 'N';
    memmove(field + 5, rest, strlen(rest) + 1);
}

Test(launcher_install, man_pages_render_and_document_everything, .timeout = 120)
{
    static const char *const variables[] = {
        "GREEN_LOOPS",
        "GREEN_STACK_SIZE",
        "GREEN_MAX_THREADS",
        "GREEN_STATS",
    };
    static const char *const options[] = {
        "--loops", "--stack-size",  "--stats",    "--version", "--help",
        "compare", "--connections", "--duration", "--url",     "--output",
    };
    const char *stats_argv[] = {GREEN_PATH, "--loops",          "2",
                                "--stats",  PROG_RETURN_STATUS, NULL};
    struct installed in;
    char *green1, *libgreen7, *exports, *save, *name;
    struct cmd c;

    install(&in);
    green1 = render(in.man1);
    libgreen7 = render(in.man7);
    cr_expect(strstr(green1, "GREEN(1)") != NULL);
    cr_expect(strstr(libgreen7, "LIBGREEN(7)") != NULL);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
        cr_expect(strstr(green1, options[i]) != NULL, "green(1) lacks %s",
                  options[i]);
    for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++)
        cr_expect(names(libgreen7, variables[i]), "libgreen(7) lacks %s",
                  variables[i]);

    /* Every field of a real report, loop0_x and loop1_x as loopN_x. */
    cr_assert_eq(cmd_run(stats_argv, NULL, &c), 0);
    cr_assert(cmd_exited_with(&c, 7), "%s", c.err);
    name = strtok_r(strchr(c.err, '\n'), "\n", &save);
    for (; name; name = strtok_r(NULL, "\n", &save)) {
        char field[64];

        sscanf(name, "%63s", field);
        generic_loop_name(field);
        cr_expect(names(libgreen7, field), "libgreen(7) lacks the field %s",
                  field);
    }
    cmd_free(&c);

    /* Every exported function. */
    exports = cmd_read_file(EXPORTS_PATH, NULL);
    cr_assert_not_null(exports, "no %s", EXPORTS_PATH);
    for (name = strtok_r(exports, "\n", &save); name;
         name = strtok_r(NULL, "\n", &save))
        cr_expect(names(libgreen7, name), "libgreen(7) lacks %s", name);
    free(exports);
    free(green1);
    free(libgreen7);
    uninstall(&in);
}
