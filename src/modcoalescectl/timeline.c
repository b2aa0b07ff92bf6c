/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* timeline.c — modcoalescectl timeline: the daemon's record of this boot's loads (ListLoads), one
 * line per load in the order they were queued, or with --svg a drawing in the manner of
 * systemd-analyze plot: one bar per load, its queue wait light and its load dark, coloured by
 * result, labelled with the requests it answered. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "daemon-call.h"
#include "log.h"
#include "varlink-idl.h"
#include "verbs.h"

typedef struct Row {
        const char *name, *method, *result, *errno_name;
        uint64_t queued, started, finished, requesters, bytes_read;
} Row;

#define SVG_BAR_WIDTH 1000.0
#define SVG_ROW_HEIGHT 20
#define SVG_LEFT 20
#define SVG_TOP 70
#define SVG_LABEL_WIDTH 420

static int row_compare(const void *a, const void *b)
{
        const Row *x = a, *y = b;

        if (x->queued != y->queued)
                return x->queued < y->queued ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* The rows of the reply, sorted by the time they were queued (the record is in completion
 * order). */
static int rows_from_reply(sd_json_variant *reply, Row **ret, size_t *ret_n)
{
        sd_json_variant *loads = sd_json_variant_by_key(reply, "loads"), *l;
        size_t n = sd_json_variant_elements(loads);
        Row *rows;

        rows = calloc(n ?: 1, sizeof(Row));
        if (!rows)
                return -ENOMEM;
        JSON_ARRAY_FOREACH(i, l, loads)
        {
                rows[i] = (Row){
                        .name = json_str(l, "name"),
                        .method = json_str(l, "method"),
                        .result = json_str(l, "result"),
                        .errno_name = sd_json_variant_by_key(l, "errnoName")
                                ? json_str(l, "errnoName")
                                : NULL,
                        .queued = json_num(l, "queuedUSec"),
                        .started = json_num(l, "startedUSec"),
                        .finished = json_num(l, "finishedUSec"),
                        .requesters = json_num(l, "requesters"),
                        .bytes_read = json_num(l, "bytesRead"),
                };
        }
        qsort(rows, n, sizeof(Row), row_compare);
        *ret = rows;
        *ret_n = n;
        return 0;
}

static double sec(uint64_t usec)
{
        return (double) usec / 1e6;
}

static void format_bytes(uint64_t b, char *buf, size_t size)
{
        if (b >= UINT64_C(1024) * 1024)
                snprintf(buf, size, "%.1fM", (double) b / (1024.0 * 1024.0));
        else if (b >= 1024)
                snprintf(buf, size, "%.1fK", (double) b / 1024.0);
        else
                snprintf(buf, size, "%" PRIu64, b);
}

static void print_table(const Row *rows, size_t n, uint64_t dropped)
{
        uint64_t requests = 0;

        printf("%10s %8s %8s %5s %-15s %-24s %7s %s\n", "QUEUED", "WAIT", "LOAD", "REQS", "RESULT",
                "METHOD", "READ", "MODULE");
        for (size_t i = 0; i < n; i++) {
                const Row *r = &rows[i];
                char read[32];

                format_bytes(r->bytes_read, read, sizeof(read));
                printf("%9.3fs %7.3fs %7.3fs %5" PRIu64 " %-15s %-24s %7s %s%s%s\n", sec(r->queued),
                        sec(r->started - r->queued), sec(r->finished - r->started), r->requesters,
                        r->result, r->method, read, r->name, r->errno_name ? " " : "",
                        r->errno_name ?: "");
                requests += r->requesters;
        }
        printf("\n%zu loads for %" PRIu64 " requests", n, requests);
        if (dropped > 0)
                printf("; %" PRIu64 " older loads no longer in the record", dropped);
        printf(".\n");
}

static void svg_text(FILE *f, const char *s)
{
        for (; *s; s++)
                switch (*s) {
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '&':
                        fputs("&amp;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

static const char *svg_colour(const char *result)
{
        if (strcmp(result, "loaded") == 0)
                return "#4a8f3c";
        if (strcmp(result, "failed") == 0)
                return "#c0392b";
        if (strcmp(result, "already-loaded") == 0)
                return "#7f8c8d";
        return "#d68910"; /* coming, going: someone else's instance */
}

/* A round tick step (1, 2 or 5 × 10^k s) that gives about ten ticks over span seconds. */
static double svg_tick(double span)
{
        double step = pow(10.0, floor(log10(span > 0 ? span / 10.0 : 1.0)));

        if (span / step > 50)
                return step * 5;
        if (span / step > 20)
                return step * 2;
        return step;
}

static void svg_write(FILE *f, const Row *rows, size_t n, uint64_t dropped)
{
        uint64_t first = UINT64_MAX, last = 0, requests = 0;
        double span, scale, tick, width, height;

        for (size_t i = 0; i < n; i++) {
                first = rows[i].queued < first ? rows[i].queued : first;
                last = rows[i].finished > last ? rows[i].finished : last;
                requests += rows[i].requesters;
        }
        if (n == 0)
                first = last = 0;
        span = sec(last - first);
        scale = SVG_BAR_WIDTH / (span > 0.001 ? span : 0.001);
        tick = svg_tick(span);
        width = SVG_LEFT * 2 + SVG_BAR_WIDTH + SVG_LABEL_WIDTH;
        height = SVG_TOP + (double) n * SVG_ROW_HEIGHT + 30;

        fprintf(f,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n"
                "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
                "<text x=\"%d\" y=\"22\" font-size=\"16\">modcoalesced: %zu loads for %" PRIu64
                " requests, %.3f s to %.3f s after boot",
                width, height, SVG_LEFT, n, requests, sec(first), sec(last));
        if (dropped > 0)
                fprintf(f, " (%" PRIu64 " older loads not shown)", dropped);
        fprintf(f,
                "</text>\n<text x=\"%d\" y=\"40\" fill=\"#555555\">light: queued, waiting for a "
                "worker; dark: reading, decompressing, in the kernel. Green loaded, grey already "
                "loaded, red failed, amber someone else's instance.</text>\n",
                SVG_LEFT);
        for (unsigned i = 0; n > 0 && (double) i * tick <= span + tick / 2; i++) {
                double t = (double) i * tick, x = SVG_LEFT + t * scale;

                fprintf(f,
                        "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#dddddd\"/>\n"
                        "<text x=\"%.1f\" y=\"%d\" fill=\"#555555\" "
                        "font-size=\"10\">%.3fs</text>\n",
                        x, SVG_TOP - 10, x, height - 30, x + 2, SVG_TOP - 12, sec(first) + t);
        }
        for (size_t i = 0; i < n; i++) {
                const Row *r = &rows[i];
                double y = SVG_TOP + (double) i * SVG_ROW_HEIGHT;
                double xq = SVG_LEFT + sec(r->queued - first) * scale;
                double xs = SVG_LEFT + sec(r->started - first) * scale;
                double xf = SVG_LEFT + sec(r->finished - first) * scale;
                char read[32];

                format_bytes(r->bytes_read, read, sizeof(read));
                fprintf(f, "<g class=\"load\"><title>");
                svg_text(f, r->name);
                fprintf(f, ": queued %.3f s, waited %.3f s, loaded in %.3f s</title>\n",
                        sec(r->queued), sec(r->started - r->queued), sec(r->finished - r->started));
                fprintf(f,
                        "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
                        "fill-opacity=\"0.3\"/>\n"
                        "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n"
                        "<text x=\"%.1f\" y=\"%.0f\">",
                        xq, y, xs - xq, SVG_ROW_HEIGHT - 4, svg_colour(r->result), xs, y,
                        xf - xs > 1 ? xf - xs : 1, SVG_ROW_HEIGHT - 4, svg_colour(r->result),
                        xf + 4, y + SVG_ROW_HEIGHT - 8);
                svg_text(f, r->name);
                fprintf(f, " (%" PRIu64 " request%s, %s read, %s, ", r->requesters,
                        r->requesters == 1 ? "" : "s", read, r->method);
                svg_text(f, r->result);
                if (r->errno_name) {
                        fputc(' ', f);
                        svg_text(f, r->errno_name);
                }
                fprintf(f, ")</text></g>\n");
        }
        fprintf(f, "</svg>\n");
}

int verb_timeline(const CtlOptions *o)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *reply = NULL;
        _cleanup_free_ Row *rows = NULL;
        size_t n;
        FILE *f;
        int k;

        k = ctl_call(o, MODCOALESCED_INTERFACE ".ListLoads", NULL, &reply);
        if (k < 0)
                return k;
        if (o->json) {
                ctl_dump(reply);
                return 0;
        }
        k = rows_from_reply(reply, &rows, &n);
        if (k < 0)
                return log_oom();
        if (!o->svg) {
                print_table(rows, n, json_num(reply, "dropped"));
                return 0;
        }
        if (strcmp(o->svg, "-") == 0) {
                svg_write(stdout, rows, n, json_num(reply, "dropped"));
                return fflush(stdout) == 0 ? 0 : log_error_errno(EIO, "Cannot write the SVG.");
        }
        f = fopen(o->svg, "we");
        if (!f)
                return log_error_errno(errno, "Cannot write %s: %m", o->svg);
        svg_write(f, rows, n, json_num(reply, "dropped"));
        k = fflush(f) != 0 || ferror(f) ? -EIO : 0;
        if (fclose(f) != 0 && k == 0)
                k = -errno;
        if (k < 0)
                return log_error_errno(k, "Cannot write %s: %m", o->svg);
        return 0;
}
