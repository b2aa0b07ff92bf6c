/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reply.c — see reply.h. A scanner, not a parser: it walks one JSON object, skipping every
 * value except the top-level "error" string. Depth is bounded, input length is respected. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "varlink-idl.h"

#define DEPTH_MAX 64

char *reply_format_load(const char *modalias, size_t *ret_size)
{
        static const char head[] =
                "{\"method\":\"" MODCOALESCED_INTERFACE ".Load\",\"parameters\":{\"modalias\":\"";
        static const char tail[] = "\"}}";
        size_t n = strlen(modalias);
        char *buf, *p;

        /* Worst case every byte is escaped. */
        buf = p = malloc(sizeof(head) + 2 * n + sizeof(tail) + 1);
        if (!buf)
                return NULL;
        p = stpcpy(p, head);
        for (size_t i = 0; i < n; i++) {
                if (modalias[i] == '"' || modalias[i] == '\\')
                        *p++ = '\\';
                *p++ = modalias[i];
        }
        p = stpcpy(p, tail);
        *ret_size = (size_t) (p - buf) + 1; /* with the NUL */
        return buf;
}

typedef struct Scan {
        const char *s;
        size_t n, i;
} Scan;

static void skip_ws(Scan *sc)
{
        while (sc->i < sc->n && strchr(" \t\r\n", sc->s[sc->i]))
                sc->i++;
}

/* A string at sc->i: its raw contents (escapes untouched) in [*start, *end). */
static int scan_string(Scan *sc, size_t *start, size_t *end)
{
        if (sc->i >= sc->n || sc->s[sc->i] != '"')
                return -EBADMSG;
        *start = ++sc->i;
        while (sc->i < sc->n && sc->s[sc->i] != '"') {
                if (sc->s[sc->i] == '\\')
                        sc->i++;
                sc->i++;
        }
        if (sc->i >= sc->n)
                return -EBADMSG;
        *end = sc->i++;
        return 0;
}

/* Skips any value: strings, and containers by depth; literals and numbers up to a delimiter. */
static int skip_value(Scan *sc)
{
        unsigned depth = 0;
        size_t a, b, start;

        skip_ws(sc);
        start = sc->i;
        do {
                if (sc->i >= sc->n)
                        return -EBADMSG;
                switch (sc->s[sc->i]) {
                case '"':
                        if (scan_string(sc, &a, &b) < 0)
                                return -EBADMSG;
                        continue;
                case '{':
                case '[':
                        if (++depth > DEPTH_MAX)
                                return -EBADMSG;
                        break;
                case '}':
                case ']':
                        if (depth == 0) /* the end of the enclosing object */
                                return sc->i > start ? 0 : -EBADMSG;
                        depth--;
                        break;
                case ',':
                        if (depth == 0)
                                return sc->i > start ? 0 : -EBADMSG;
                        break;
                default:
                        break;
                }
                sc->i++;
        } while (depth > 0 || (sc->i < sc->n && !strchr(",}] \t\r\n", sc->s[sc->i])));
        return 0;
}

int reply_error_id(const char *json, size_t n, char *ret, size_t size)
{
        Scan sc = { .s = json, .n = n };
        bool found = false;
        size_t a, b;

        skip_ws(&sc);
        if (sc.i >= n || json[sc.i++] != '{')
                return -EBADMSG;
        skip_ws(&sc);
        while (!(sc.i < n && json[sc.i] == '}')) {
                bool is_error;

                skip_ws(&sc);
                if (scan_string(&sc, &a, &b) < 0)
                        return -EBADMSG;
                is_error = b - a == 5 && memcmp(json + a, "error", 5) == 0;
                skip_ws(&sc);
                if (sc.i >= n || json[sc.i++] != ':')
                        return -EBADMSG;
                skip_ws(&sc);
                if (is_error) {
                        if (scan_string(&sc, &a, &b) < 0 || memchr(json + a, '\\', b - a) ||
                                b - a >= size)
                                return -EBADMSG;
                        memcpy(ret, json + a, b - a);
                        ret[b - a] = '\0';
                        found = true;
                } else if (skip_value(&sc) < 0)
                        return -EBADMSG;
                skip_ws(&sc);
                if (sc.i >= n)
                        return -EBADMSG;
                if (json[sc.i] == '}')
                        break;
                if (json[sc.i++] != ',')
                        return -EBADMSG;
                skip_ws(&sc);
                if (sc.i < n && json[sc.i] == '}')
                        return -EBADMSG; /* a trailing comma */
        }
        sc.i++;
        skip_ws(&sc);
        return sc.i == n ? found : -EBADMSG;
}
