/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-timeline — the boot's record of loads: the ring keeps the newest TIMELINE_MAX in order and
 * counts what it drops; saved and read back it is the same; a damaged or hostile file costs the
 * records it spoils, never the daemon. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "timeline.h"

static LoadRecord record(unsigned i)
{
        LoadRecord r = {
                .queued = 1000 * i,
                .started = 1000 * i + 10,
                .finished = 1000 * i + 500,
                .requesters = i + 1,
                .error = i % 3 == 0 ? -EBUSY : 0,
                .result = i % 3 == 0 ? LOAD_RESULT_FAILED : LOAD_RESULT_LOADED,
                .bytes_read = 4096 * i,
                .bytes_decompressed = 8192 * i,
        };

        snprintf(r.name, sizeof(r.name), "mod_%u", i);
        snprintf(r.method, sizeof(r.method), "init_module");
        return r;
}

static void assert_record_equal(const LoadRecord *a, const LoadRecord *b)
{
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->method, b->method);
        assert_int_equal(a->queued, b->queued);
        assert_int_equal(a->started, b->started);
        assert_int_equal(a->finished, b->finished);
        assert_int_equal(a->requesters, b->requesters);
        assert_int_equal(a->error, b->error);
        assert_int_equal(a->result, b->result);
        assert_int_equal(a->bytes_read, b->bytes_read);
        assert_int_equal(a->bytes_decompressed, b->bytes_decompressed);
}

static void test_ring(void **state)
{
        _cleanup_(timeline_freep) Timeline *t = NULL;

        assert_int_equal(timeline_new(&t, 0), -EINVAL);
        assert_int_equal(timeline_new(&t, 3), 0);
        assert_int_equal(timeline_size(t), 0);
        assert_null(timeline_get(t, 0));
        for (unsigned i = 0; i < 5; i++) {
                LoadRecord r = record(i);
                timeline_add(t, &r);
        }
        /* The three newest, oldest first; two dropped. */
        assert_int_equal(timeline_size(t), 3);
        assert_int_equal(timeline_dropped(t), 2);
        for (unsigned i = 0; i < 3; i++)
                assert_string_equal(timeline_get(t, i)->name, record(i + 2).name);
        assert_null(timeline_get(t, 3));
}

static void test_save_load(void **state)
{
        _cleanup_(timeline_freep) Timeline *t = NULL, *u = NULL;
        char path[] = "/tmp/test-timeline-XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(timeline_new(&t, 8), 0);
        for (unsigned i = 0; i < 10; i++) {
                LoadRecord r = record(i);
                timeline_add(t, &r);
        }
        assert_int_equal(timeline_save(t, path), 0);

        /* Read back after a record of its own: appended, in order, the drops added up. */
        assert_int_equal(timeline_new(&u, 16), 0);
        LoadRecord first = record(100);
        timeline_add(u, &first);
        assert_int_equal(timeline_load(u, path), 8);
        assert_int_equal(timeline_size(u), 9);
        assert_int_equal(timeline_dropped(u), 2);
        assert_string_equal(timeline_get(u, 0)->name, "mod_100");
        for (unsigned i = 0; i < 8; i++)
                assert_record_equal(timeline_get(u, i + 1), timeline_get(t, i));
        assert_int_equal(timeline_get(u, 2)->error, -EBUSY);
        assert_int_equal(timeline_get(u, 2)->result, LOAD_RESULT_FAILED);

        unlink(path);
        /* No file yet (the first daemon of a boot): nothing, no error. */
        assert_int_equal(timeline_load(u, path), 0);
        assert_int_equal(timeline_size(u), 9);
}

static int load_text(const char *text, Timeline *t)
{
        char path[] = "/tmp/test-timeline-XXXXXX";
        int fd = mkstemp(path), k;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        k = timeline_load(t, path);
        unlink(path);
        return k;
}

static void test_hostile(void **state)
{
        _cleanup_(timeline_freep) Timeline *t = NULL;
        _cleanup_free_ char *big = NULL;
        const char *good = "{\"name\":\"ok_1\",\"method\":\"finit_module\",\"queuedUSec\":1,"
                           "\"startedUSec\":2,\"finishedUSec\":3,\"requesters\":4,"
                           "\"result\":\"loaded\",\"bytesRead\":5,\"bytesDecompressed\":0}";
        char text[4096];

        assert_int_equal(timeline_new(&t, 8), 0);
        assert_true(load_text("{\"loads\":[", t) < 0); /* truncated */
        assert_true(load_text("[1,2]", t) < 0); /* not ours */
        assert_int_equal(load_text("{\"loads\":7}", t), -EBADMSG);
        assert_int_equal(timeline_size(t), 0);

        /* Bad records are skipped one by one: a name with '/', an unknown result, times out of
         * order, an errno out of range, a method too long, a missing field. */
        snprintf(text, sizeof(text),
                "{\"loads\":[%s,"
                "{\"name\":\"../x\",\"method\":\"m\",\"queuedUSec\":1,\"startedUSec\":2,"
                "\"finishedUSec\":3,\"requesters\":1,\"result\":\"loaded\",\"bytesRead\":0,"
                "\"bytesDecompressed\":0},"
                "{\"name\":\"a\",\"method\":\"m\",\"queuedUSec\":1,\"startedUSec\":2,"
                "\"finishedUSec\":3,\"requesters\":1,\"result\":\"gone\",\"bytesRead\":0,"
                "\"bytesDecompressed\":0},"
                "{\"name\":\"b\",\"method\":\"m\",\"queuedUSec\":5,\"startedUSec\":2,"
                "\"finishedUSec\":3,\"requesters\":1,\"result\":\"loaded\",\"bytesRead\":0,"
                "\"bytesDecompressed\":0},"
                "{\"name\":\"c\",\"method\":\"m\",\"queuedUSec\":1,\"startedUSec\":2,"
                "\"finishedUSec\":3,\"requesters\":1,\"result\":\"failed\",\"errno\":99999,"
                "\"bytesRead\":0,\"bytesDecompressed\":0},"
                "{\"name\":\"d\",\"method\":\"%040d\",\"queuedUSec\":1,\"startedUSec\":2,"
                "\"finishedUSec\":3,\"requesters\":1,\"result\":\"loaded\",\"bytesRead\":0,"
                "\"bytesDecompressed\":0},"
                "{\"name\":\"e\"},%s]}",
                good, 0, good);
        assert_int_equal(load_text(text, t), 2);
        assert_int_equal(timeline_size(t), 2);
        assert_string_equal(timeline_get(t, 1)->name, "ok_1");
        assert_int_equal(timeline_get(t, 1)->requesters, 4);

        /* Far more than a ring's worth: not read at all. */
        big = malloc(TIMELINE_FILE_MAX + 2);
        assert_non_null(big);
        memset(big, ' ', TIMELINE_FILE_MAX + 1);
        big[TIMELINE_FILE_MAX + 1] = '\0';
        big[0] = '{';
        big[TIMELINE_FILE_MAX] = '}';
        assert_int_equal(load_text(big, t), -EBADMSG);
        assert_int_equal(timeline_size(t), 2);
}

static void test_json(void **state)
{
        _cleanup_(timeline_freep) Timeline *t = NULL;
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *v = NULL;
        sd_json_variant *e;
        LoadRecord r = record(3);

        assert_int_equal(timeline_new(&t, 4), 0);
        assert_int_equal(timeline_to_json(t, &v), 0);
        assert_true(sd_json_variant_is_array(v));
        assert_int_equal(sd_json_variant_elements(v), 0);
        v = sd_json_variant_unref(v);

        timeline_add(t, &r);
        assert_int_equal(timeline_to_json(t, &v), 0);
        e = sd_json_variant_by_index(v, 0);
        assert_string_equal(sd_json_variant_string(sd_json_variant_by_key(e, "name")), "mod_3");
        assert_string_equal(sd_json_variant_string(sd_json_variant_by_key(e, "result")), "failed");
        assert_int_equal(sd_json_variant_integer(sd_json_variant_by_key(e, "errno")), EBUSY);
        assert_string_equal(
                sd_json_variant_string(sd_json_variant_by_key(e, "errnoName")), "EBUSY");
        assert_int_equal(sd_json_variant_unsigned(sd_json_variant_by_key(e, "requesters")), 4);
        assert_int_equal(load_result_from_string("coming"), LOAD_RESULT_COMING);
        assert_int_equal(load_result_from_string("nope"), -EINVAL);
        assert_null(load_result_to_string(_LOAD_RESULT_MAX));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ring),
                cmocka_unit_test(test_save_load),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
