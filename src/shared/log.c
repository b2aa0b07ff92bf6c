/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.c — see log.h. The prefix style is chosen once, in log_setup(), from $JOURNAL_STREAM. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static const char *log_program = "modcoalesced";
static int log_max_level = LOG_INFO;
static bool log_journal;

void log_setup(const char *program)
{
        const char *e;

        if (program)
                log_program = program;
        log_journal = !!getenv("JOURNAL_STREAM");
        e = getenv("MODCOALESCED_LOG_LEVEL");
        if (e && log_parse_level(e) >= 0)
                log_max_level = log_parse_level(e);
}

void log_set_max_level(int level)
{
        log_max_level = level;
}

int log_get_max_level(void)
{
        return log_max_level;
}

int log_parse_level(const char *s)
{
        static const char *const names[] = {
                "emerg",
                "alert",
                "crit",
                "err",
                "warning",
                "notice",
                "info",
                "debug",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcasecmp(s, names[i]) == 0)
                        return (int) i;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -EINVAL;
}

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
        int saved = errno;
        char buf[2048];
        va_list ap;

        if (error < 0)
                error = -error;

        /* %m in fmt means the error passed in, as in systemd. */
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        if (log_journal)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else if (log_max_level >= LOG_DEBUG)
                fprintf(stderr, "%s: %s (%s:%d)\n", log_program, buf, file, line);
        else
                fprintf(stderr, "%s: %s\n", log_program, buf);

        errno = saved;
        return -error;
}
