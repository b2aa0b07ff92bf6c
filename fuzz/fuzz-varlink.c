/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-varlink — the varlink service end to end: each input is what up to four clients send,
 * their byte streams separated by an empty line ("\n\n"), each on its own connection to a fresh
 * in-process daemon (engine, server, fake kernel boundary; the fixture module tree and one
 * resolver for the whole run). Loads of mc_slow are held inside the fake kernel while the
 * clients send, so that calls wait on a load in flight; then every other client hangs up (its
 * waiting calls are cancelled), the load is released and the loop runs until the server has
 * finished with every connection. Then the daemon must be healthy: no connection, request or
 * load left over, and a well-formed Load on a new connection is answered with success. */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <systemd/sd-json.h>

#include "cleanup.h"
#include "fixture.h"
#include "fuzz.h"
#include "kernel-fake.h"
#include "log.h"
#include "server.h"
#include "time-util.h"
#include "varlink-idl.h"

/* Generous: a whole input takes well under a millisecond unless something is wrong. */
#define CONNECTION_DEADLINE_USEC (10 * USEC_PER_SEC)
/* Loop rounds with nothing to do, nothing in flight, before the clients give up waiting. */
#define IDLE_ROUNDS 3
#define MAX_PEERS 4
#define PEER_SEPARATOR "\n\n"
/* Its loads block inside the fake kernel until the clients have sent everything. */
#define HELD_MODULE "mc_slow"

static Fixture fixture;
static Resolver *resolver;

typedef struct Daemon {
        sd_event *event;
        KernelFake *fake;
        Engine *engine;
        Server *server;
        bool holding; /* loads of HELD_MODULE block in the kernel */
} Daemon;

/* The client's end of one connection. */
typedef struct Peer {
        int fd;
        const uint8_t *out;
        size_t out_size, written;
        bool shut; /* SHUT_WR once everything is written */
        bool eof; /* the server closed its end */
        char reply[4096]; /* the start of what the server sent, NUL-terminated */
        size_t reply_size;
} Peer;

static void fixture_cleanup(void)
{
        resolver = resolver_free(resolver);
        (void) fixture_teardown(&fixture);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        const char *const conf[2] = { fixture.conf, NULL };

        /* The daemon's own warnings (a MODALIAS that does not resolve…) are noise here. */
        log_set_max_level(LOG_ERR);
        /* A server that closes while we write must not kill the fuzzer. */
        signal(SIGPIPE, SIG_IGN);
        if (fixture_setup(&fixture) < 0) {
                fprintf(stderr,
                        "fuzz-varlink: building the fixture tree failed "
                        "(MC_FIXTURE_SCRIPT=%s)\n",
                        getenv("MC_FIXTURE_SCRIPT") ?: "unset");
                abort();
        }
        atexit(fixture_cleanup);
        FUZZ_CHECK(resolver_new(&resolver, false, fixture.moddir, conf) == 0);
        return 0;
}

static void daemon_start(Daemon *d)
{
        const EngineConfig ec = { .workers = 1 };

        *d = (Daemon){};
        FUZZ_CHECK(sd_event_new(&d->event) >= 0);
        FUZZ_CHECK(kernel_fake_new(&d->fake) == 0);
        kernel_fake_set_compression(d->fake, COMPRESSION_XZ);
        FUZZ_CHECK(engine_new(&d->engine, d->event, kernel_fake_kernel(d->fake), &ec) == 0);
        FUZZ_CHECK(engine_start(d->engine) == 0);
        FUZZ_CHECK(server_new(&d->server, d->event, d->engine, resolver, NULL) == 0);
        kernel_fake_hold(d->fake, HELD_MODULE);
        d->holding = true;
}

static void daemon_stop(Daemon *d)
{
        server_free(d->server);
        engine_free(d->engine);
        kernel_fake_free(d->fake);
        sd_event_unref(d->event);
}

/* Loads are progressing. While the held module is blocked in the kernel nothing progresses (one
 * worker), whatever is in flight. */
static bool daemon_busy(Daemon *d)
{
        return engine_n_in_flight(d->engine) > 0 &&
                !(d->holding && kernel_fake_wait_blocked(d->fake, HELD_MODULE, 1, 0));
}

static void peer_open(Daemon *d, Peer *p, const void *out, size_t out_size)
{
        int fds[2];

        *p = (Peer){ .out = out, .out_size = out_size };
        FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
        FUZZ_CHECK(server_add_connection(d->server, fds[0]) >= 0);
        p->fd = fds[1];
}

/* Writes what its socket takes; reads what the server sent (the start of it is kept). */
static void peer_io(Peer *p, bool shut_when_written)
{
        char buf[4096];
        ssize_t n;

        if (p->fd < 0)
                return;
        if (p->written < p->out_size) {
                n = send(p->fd, p->out + p->written, p->out_size - p->written, MSG_NOSIGNAL);
                if (n > 0)
                        p->written += n;
                else if (n < 0 && errno != EAGAIN)
                        p->written = p->out_size; /* the server is gone: nothing more to say */
        }
        if (shut_when_written && !p->shut && p->written == p->out_size) {
                (void) shutdown(p->fd, SHUT_WR);
                p->shut = true;
        }
        while (!p->eof) {
                n = recv(p->fd, buf, sizeof(buf), 0);
                if (n < 0) {
                        FUZZ_CHECK(errno == EAGAIN || errno == ECONNRESET);
                        p->eof = errno == ECONNRESET;
                        break;
                }
                if (n == 0)
                        p->eof = true;
                else if (p->reply_size < sizeof(p->reply) - 1) {
                        size_t k = (size_t) n < sizeof(p->reply) - 1 - p->reply_size
                                ? (size_t) n
                                : sizeof(p->reply) - 1 - p->reply_size;
                        memcpy(p->reply + p->reply_size, buf, k);
                        p->reply_size += k;
                        p->reply[p->reply_size] = '\0';
                }
        }
}

/* One round: every client writes, the loop runs once, every client reads. Returns whether the
 * loop dispatched anything. */
static bool peers_step(Daemon *d, Peer *peers, size_t n, bool shut_when_written, usec_t timeout)
{
        int r;

        for (size_t i = 0; i < n; i++)
                peer_io(&peers[i], shut_when_written);
        r = sd_event_run(d->event, timeout);
        FUZZ_CHECK(r >= 0);
        for (size_t i = 0; i < n; i++)
                peer_io(&peers[i], shut_when_written);
        return r > 0;
}

static bool peers_done(const Peer *peers, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (peers[i].fd >= 0 && !peers[i].eof)
                        return false;
        return true;
}

/* Runs until the server has closed every connection, or has had nothing to do for a while (a
 * Monitor call, a message cut short, calls waiting on the held module…). */
static void peers_run(Daemon *d, Peer *peers, size_t n, usec_t deadline)
{
        unsigned idle = 0;

        while (!peers_done(peers, n) && idle < IDLE_ROUNDS) {
                bool busy = daemon_busy(d);

                FUZZ_CHECK(now_usec() < deadline);
                if (peers_step(d, peers, n, true, busy ? 10 * USEC_PER_MSEC : 0) || busy)
                        idle = 0;
                else
                        idle++;
        }
}

/* The clients hang up; the server must notice and forget every connection. */
static void peers_close(Daemon *d, Peer *peers, size_t n, usec_t deadline)
{
        for (size_t i = 0; i < n; i++)
                peers[i].fd = safe_close(peers[i].fd);
        while (server_n_connections(d->server) > 0 || daemon_busy(d)) {
                FUZZ_CHECK(now_usec() < deadline);
                (void) sd_event_run(d->event, 10 * USEC_PER_MSEC);
        }
}

/* The input's byte streams, one per client. */
static size_t peers_open(Daemon *d, Peer *peers, const uint8_t *data, size_t size)
{
        size_t n = 0, k = strlen(PEER_SEPARATOR);

        while (n < MAX_PEERS - 1) {
                const uint8_t *sep = memmem(data, size, PEER_SEPARATOR, k);

                if (!sep)
                        break;
                peer_open(d, &peers[n++], data, (size_t) (sep - data));
                size -= (size_t) (sep - data) + k;
                data = sep + k;
        }
        peer_open(d, &peers[n++], data, size);
        return n;
}

static void run_clients(Daemon *d, const uint8_t *data, size_t size)
{
        usec_t deadline = now_usec() + CONNECTION_DEADLINE_USEC;
        Peer peers[MAX_PEERS];
        size_t n;

        n = peers_open(d, peers, data, size);
        peers_run(d, peers, n, deadline);
        /* Every other client gives up, its calls perhaps waiting on the held load… */
        for (size_t i = 1; i < n; i += 2)
                peers[i].fd = safe_close(peers[i].fd);
        /* …which now finishes for the others. */
        kernel_fake_release(d->fake, HELD_MODULE);
        d->holding = false;
        peers_run(d, peers, n, deadline);
        peers_close(d, peers, n, deadline);
}

/* A well-formed Load on a new connection is answered, with success. */
static void check_healthy(Daemon *d)
{
        static const char call[] = "{\"method\":\"" MODCOALESCED_INTERFACE ".Load\","
                                   "\"parameters\":{\"modules\":[\"mc_c\"]}}";
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *reply = NULL;
        usec_t deadline = now_usec() + CONNECTION_DEADLINE_USEC;
        Peer p;

        /* sizeof: with the terminating NUL, which ends a varlink message. */
        peer_open(d, &p, call, sizeof(call));
        while (!p.eof && strlen(p.reply) == p.reply_size) {
                FUZZ_CHECK(now_usec() < deadline);
                (void) peers_step(d, &p, 1, false, 10 * USEC_PER_MSEC);
        }
        if (sd_json_parse(p.reply, 0, &reply, NULL, NULL) < 0 ||
                sd_json_variant_by_key(reply, "error") ||
                !sd_json_variant_by_key(sd_json_variant_by_key(reply, "parameters"), "modules")) {
                fprintf(stderr, "fuzz-varlink: the daemon answered a well-formed Load with: %s\n",
                        p.reply_size ? p.reply : "(nothing)");
                abort();
        }
        peers_close(d, &p, 1, deadline);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Daemon d;

        daemon_start(&d);
        run_clients(&d, data, size);
        FUZZ_CHECK(server_n_pending(d.server) == 0);
        FUZZ_CHECK(engine_n_requests(d.engine) == 0);
        check_healthy(&d);
        FUZZ_CHECK(server_n_connections(d.server) == 0 && server_n_pending(d.server) == 0);
        daemon_stop(&d);
        return 0;
}
