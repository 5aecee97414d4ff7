/* Unit tests for util/fileperm: the folder of the control socket (R15: a
 * folder others may write lets them put a socket of their own where
 * natsecctl looks for natsecd's, and hear or answer what it asks).
 * Folders are made in a private temporary one, modes and owners set here
 * (the tests run as root). The file verdicts are tested through the
 * configuration in test_conf_perm. */
/* cmocka needs these first; the blank line keeps clang-format from
 * sorting it above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileperm.h"

static char base[64], dir[128], why[512];

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/natsec-fileperm.XXXXXX");
    if (!mkdtemp(base))
        return -1;
    snprintf(dir, sizeof(dir), "%s/run", base);
    why[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static void expect_refused(const char *want)
{
    assert_int_equal(ns_perm_private_dir(dir, why, sizeof(why)), -1);
    if (!strstr(why, want))
        fail_msg("got \"%s\", want \"%s\"", why, want);
}

/* R15: a missing folder is made 0700, whatever the umask lets through. */
static void missing_folder_made_private(void **state)
{
    (void)state;
    mode_t old = umask(0);
    int rc = ns_perm_private_dir(dir, why, sizeof(why));
    umask(old);
    assert_int_equal(rc, 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    /* Once there, it is accepted as it is. */
    assert_int_equal(ns_perm_private_dir(dir, why, sizeof(why)), 0);
}

/* R15: an existing folder nobody else may write is fine (0755, the mode
 * natsecd used to make /run/natsec with, and 0700). */
static void private_folders_accepted(void **state)
{
    (void)state;
    const mode_t ok[] = {0755, 0700, 0711, 0555};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, ok[i]), 0);
        assert_int_equal(ns_perm_private_dir(dir, why, sizeof(why)), 0);
        assert_int_equal(rmdir(dir), 0);
    }
}

/* R15: a folder its group or others may write is refused, sticky or not
 * (a shared /tmp is no place for it), and so is one another user owns
 * (they may chmod it), and a path that is not a folder. */
static void open_folders_refused(void **state)
{
    (void)state;
    const mode_t bad[] = {0777, 0775, 0757, 01777, 0730};
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, bad[i]), 0);
        char want[160];
        snprintf(want, sizeof(want), "others may write %s (mode %04o)", dir, (unsigned)bad[i]);
        expect_refused(want);
        assert_int_equal(rmdir(dir), 0);
    }
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chown(dir, 4242, 0), 0);
    expect_refused("belongs to user 4242");
    assert_int_equal(rmdir(dir), 0);

    FILE *f = fopen(dir, "w");
    assert_non_null(f);
    fclose(f);
    expect_refused("is not a directory");
    assert_int_equal(unlink(dir), 0);
    assert_int_equal(symlink("/tmp", dir), 0);
    expect_refused("is not a directory"); /* a link to a shared folder */
}

/* A folder whose parent is missing: the reason from mkdir. */
static void missing_parent(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "%s/no/run", base);
    expect_refused("cannot create");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(missing_folder_made_private, setup, teardown),
        cmocka_unit_test_setup_teardown(private_folders_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(open_folders_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_parent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
