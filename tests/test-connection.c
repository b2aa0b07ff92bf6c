/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-connection — connection.c driving sd-varlink server connections on one sd-event loop,
 * against raw clients on socketpairs (so that they can pipeline, split, half-close and vanish):
 * deferred replies sent by a kick, pipelined calls beyond one turn's steps, a call bigger than
 * one read, hang-ups while a call waits, and closing everything at the end. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-event.h>
#include <systemd/sd-varlink.h>

#include "connection.h"

#define HELD_MAX 2048u

static sd_event *event;
static sd_varlink_server *server;
static ConnectionSet *set;
static sd_varlink *held[HELD_MAX];
static unsigned n_held, n_disconnects;

static int vl_method_Echo(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        return sd_varlink_reply(link, parameters);
}

/* Answered later, by the test: the connection waits meanwhile. */
static int vl_method_Hold(sd_varlink *link, sd_json_variant *parameters,
        sd_varlink_method_flags_t flags, void *userdata)
{
        assert_true(n_held < HELD_MAX);
        held[n_held++] = sd_varlink_ref(link);
        return 0;
}

static void on_disconnect(sd_varlink_server *s, sd_varlink *link, void *userdata)
{
        n_disconnects++;
        for (unsigned i = 0; i < n_held; i++)
                if (held[i] == link)
                        held[i] = sd_varlink_unref(held[i]);
        connection_free(connection_of(link));
}

static int setup(void **state)
{
        struct rlimit rl = { 8192, 8192 };

        /* Two descriptors per client. */
        (void) setrlimit(RLIMIT_NOFILE, &rl);
        n_held = n_disconnects = 0;
        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(sd_varlink_server_new(&server, 0), 0);
        assert_int_equal(sd_varlink_server_set_connections_max(server, HELD_MAX + 16), 0);
        assert_int_equal(sd_varlink_server_bind_method_many(
                                 server, "t.Echo", vl_method_Echo, "t.Hold", vl_method_Hold),
                0);
        assert_int_equal(sd_varlink_server_bind_disconnect(server, on_disconnect), 0);
        assert_int_equal(connection_set_new(&set, event), 0);
        return 0;
}

static int teardown(void **state)
{
        set = connection_set_free(set);
        for (unsigned i = 0; i < n_held; i++)
                held[i] = sd_varlink_unref(held[i]);
        server = sd_varlink_server_unref(server);
        event = sd_event_unref(event);
        return 0;
}

/* A client: our end of a socketpair whose other end the server drives. */
static int client_new(void)
{
        int fds[2];
        sd_varlink *link;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(sd_varlink_server_add_connection(server, fds[0], &link), 0);
        assert_int_equal(connection_new(NULL, set, link), 0);
        return fds[1];
}

static void client_send(int fd, const char *text)
{
        size_t n = strlen(text) + 1;

        assert_int_equal(write(fd, text, n), (ssize_t) n);
}

/* Runs the loop until cond() holds (or 20 s pass: a failure). */
static void run_until(bool (*cond)(void *), void *arg)
{
        struct timespec ts;
        uint64_t deadline;

        assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        deadline = (uint64_t) ts.tv_sec + 20;
        while (!cond(arg)) {
                assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
                assert_true((uint64_t) ts.tv_sec < deadline);
                assert_true(sd_event_run(event, 100 * 1000) >= 0);
        }
}

static bool held_reach(void *arg)
{
        return n_held >= *(unsigned *) arg;
}

static bool disconnects_reach(void *arg)
{
        return n_disconnects >= *(unsigned *) arg;
}

typedef struct Reader {
        int fd;
        unsigned want, got;
        char buf[4096];
        size_t len;
        bool eof;
} Reader;

/* Counts the NUL-terminated messages that arrived on a client, keeping the last. */
static bool reader_done(void *arg)
{
        Reader *r = arg;
        char chunk[65536];
        ssize_t n;

        while ((n = recv(r->fd, chunk, sizeof(chunk), MSG_DONTWAIT)) > 0)
                for (ssize_t i = 0; i < n; i++) {
                        if (r->len < sizeof(r->buf) - 1)
                                r->buf[r->len++] = chunk[i];
                        if (chunk[i] == '\0') {
                                r->got++;
                                if (r->got < r->want)
                                        r->len = 0;
                        }
                }
        if (n == 0)
                r->eof = true;
        return r->got >= r->want;
}

static void test_deferred_replies_are_sent_by_a_kick(void **state)
{
        enum { N = 1500 };
        static int fds[N];
        unsigned want = N;

        for (unsigned i = 0; i < N; i++) {
                fds[i] = client_new();
                client_send(fds[i], "{\"method\":\"t.Hold\",\"parameters\":{}}");
        }
        run_until(held_reach, &want);
        assert_int_equal(connection_set_size(set), N);
        for (unsigned i = 0; i < N; i++) {
                assert_true(sd_varlink_replybo(held[i], SD_JSON_BUILD_PAIR_UNSIGNED("i", i)) >= 0);
                connection_kick(connection_of(held[i]));
                held[i] = sd_varlink_unref(held[i]);
        }
        for (unsigned i = 0; i < N; i++) {
                Reader r = { .fd = fds[i], .want = 1 };

                run_until(reader_done, &r);
                assert_non_null(strstr(r.buf, "\"parameters\":{\"i\":"));
                close(fds[i]);
        }
        run_until(disconnects_reach, &want);
        assert_int_equal(connection_set_size(set), 0);
}

static void test_pipelined_calls_beyond_one_turn(void **state)
{
        enum { CALLS = CONNECTION_STEPS_MAX * 8 };
        int fd = client_new();
        Reader r = { .fd = fd, .want = CALLS };
        char text[64 * CALLS] = "";
        size_t len = 0;

        /* One write, many calls: the edge comes once, the calls take many turns. */
        for (unsigned i = 0; i < CALLS; i++)
                len += (size_t) snprintf(text + len, sizeof(text) - len,
                        "{\"method\":\"t.Echo\",\"parameters\":{\"i\":%u}}%c", i, '\0');
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        run_until(reader_done, &r);
        assert_non_null(strstr(r.buf, "{\"parameters\":{\"i\":255}}"));
        close(fd);
}

static void test_call_bigger_than_one_read(void **state)
{
        size_t big = 300 * 1024;
        int fd = client_new();
        Reader r = { .fd = fd, .want = 1 };
        char *text = malloc(big + 64);
        size_t len;

        assert_non_null(text);
        len = (size_t) sprintf(text, "{\"method\":\"t.Echo\",\"parameters\":{\"s\":\"");
        memset(text + len, 'x', big);
        len += big;
        len += (size_t) sprintf(text + len, "\"}}");
        /* Written in pieces, with the loop running in between. */
        for (size_t off = 0; off <= len; off += 4096) {
                size_t n = len + 1 - off < 4096 ? len + 1 - off : 4096;

                assert_int_equal(write(fd, text + off, n), (ssize_t) n);
                assert_true(sd_event_run(event, 0) >= 0);
        }
        free(text);
        run_until(reader_done, &r);
        assert_int_equal(r.got, 1);
        close(fd);
}

static void test_vanished_waiter_is_disconnected_at_once(void **state)
{
        unsigned one = 1;
        int fd = client_new();

        client_send(fd, "{\"method\":\"t.Hold\",\"parameters\":{}}");
        run_until(held_reach, &one);
        close(fd);
        /* No reply was ever sent: only the hang-up tells. */
        run_until(disconnects_reach, &one);
        assert_null(held[0]);
        assert_int_equal(connection_set_size(set), 0);
}

static void test_half_closed_client_still_gets_its_reply(void **state)
{
        unsigned one = 1;
        int fd = client_new();
        Reader r = { .fd = fd, .want = 1 };

        client_send(fd, "{\"method\":\"t.Hold\",\"parameters\":{}}");
        assert_int_equal(shutdown(fd, SHUT_WR), 0);
        run_until(held_reach, &one);
        for (unsigned i = 0; i < 10; i++)
                assert_true(sd_event_run(event, 1000) >= 0);
        assert_int_equal(n_disconnects, 0);
        assert_true(sd_varlink_replybo(held[0], SD_JSON_BUILD_PAIR_BOOLEAN("ok", true)) >= 0);
        connection_kick(connection_of(held[0]));
        run_until(reader_done, &r);
        assert_non_null(strstr(r.buf, "\"ok\":true"));
        /* Answered and its read side gone: the server ends it. */
        run_until(disconnects_reach, &one);
        close(fd);
}

/* sd-varlink closes a connection in the middle of its processing (a protocol error) while a
 * forked child still holds the socket: the close of our descriptor does not take the file out
 * of epoll then, so the watch must be gone before it, or the peer's hang-up later arrives for a
 * freed event source. */
static void test_closed_while_a_child_holds_the_socket(void **state)
{
        unsigned one = 1;
        int fd = client_new(), status;
        pid_t pid;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Only the server's end stays open here, as long as the test runs. */
                close(fd);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                pause();
                _exit(0);
        }
        client_send(fd, "{]");
        run_until(disconnects_reach, &one);
        close(fd);
        for (unsigned i = 0; i < 20; i++)
                assert_true(sd_event_run(event, 1000) >= 0);
        assert_int_equal(connection_set_size(set), 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_freeing_the_set_closes_every_connection(void **state)
{
        enum { N = 10 };
        unsigned want = N;
        int fds[N];

        for (unsigned i = 0; i < N; i++) {
                fds[i] = client_new();
                client_send(fds[i], "{\"method\":\"t.Hold\",\"parameters\":{}}");
        }
        run_until(held_reach, &want);
        set = connection_set_free(set);
        assert_int_equal(n_disconnects, N);
        for (unsigned i = 0; i < N; i++) {
                char c;

                assert_int_equal(read(fds[i], &c, 1), 0);
                close(fds[i]);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                        test_deferred_replies_are_sent_by_a_kick, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_pipelined_calls_beyond_one_turn, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_bigger_than_one_read, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_vanished_waiter_is_disconnected_at_once, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_half_closed_client_still_gets_its_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_closed_while_a_child_holds_the_socket, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_freeing_the_set_closes_every_connection, setup, teardown),
        };

        return cmocka_run_group_tests_name("connection", tests, NULL, NULL);
}
