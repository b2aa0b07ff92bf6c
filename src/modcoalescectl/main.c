/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* modcoalescectl — the admin's tool. `resolve` prints the load plan of a MODALIAS or of module
 * names, computed in-process by the same resolver the daemon uses; load, in-flight, stats,
 * monitor (verbs.c) and timeline (timeline.c) talk to the daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <systemd/sd-json.h>

#include "log.h"
#include "modname.h"
#include "modules-load.h"
#include "resolver.h"
#include "varlink-idl.h"
#include "verbs.h"

static bool arg_json;
static bool arg_modalias;
static const char *arg_module_dir;
static const char *arg_params;
static char **arg_config;
static const char *arg_root;
static const char *arg_svg;

static const char *arg_socket = MODCOALESCED_SOCKET;

static void help(void)
{
        printf("Usage: modcoalescectl [OPTIONS] VERB [ARGS…]\n\n"
               "  resolve MODALIAS|NAME…  Show the load plan: the modules in load order (what\n"
               "                          modprobe --show-depends prints), builtin and\n"
               "                          blacklisted matches; computed here, no daemon needed\n"
               "  load MODALIAS|NAME…     Ask the daemon to load, and show each module's outcome\n"
               "  in-flight               Loads in flight and their waiters\n"
               "  stats                   The daemon's counters and per-module duplicate table\n"
               "  monitor                 Follow request, coalesce, load and result events\n"
               "  timeline                This boot's loads: when, how long, for how many\n"
               "                          requests (--svg=FILE draws them)\n"
               "  modules-load            Load modules-load.d's and modules_load='s modules "
               "through\n"
               "                          the daemon, as systemd-modules-load does (its drop-in\n"
               "                          runs this); without the daemon, run it\n\n"
               "A single argument with a ':' is a MODALIAS (blacklist applied, as udev does);\n"
               "anything else names modules or aliases (as modprobe).\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --json              Print JSON instead of a table\n"
               "     --socket=PATH       The daemon's socket (default %s)\n"
               "     --modalias          Treat the argument as a MODALIAS\n"
               "     --module-dir=DIR    resolve: module tree (default /lib/modules/`uname -r`)\n"
               "     --config=PATH       resolve: modprobe.d file or directory (repeatable)\n"
               "     --parameters=PARAMS Module parameters, as on modprobe's command line\n"
               "     --root=DIR          modules-load: read modules-load.d below DIR\n"
               "     --svg=FILE          timeline: draw an SVG to FILE ('-': stdout)\n",
                MODCOALESCED_SOCKET);
}

static const char *role(const PlanModule *m)
{
        return m->target ? "target" : m->soft ? "softdep" : "dep";
}

static int print_json(const Plan *plan, char *const *inputs, bool modalias)
{
        _cleanup_(sd_json_variant_unrefp) sd_json_variant *modules = NULL, *v = NULL;
        int k;

        for (size_t i = 0; i < plan->n_modules; i++) {
                const PlanModule *m = &plan->modules[i];

                k = sd_json_variant_append_arraybo(&modules,
                        SD_JSON_BUILD_PAIR_STRING("name", m->name),
                        SD_JSON_BUILD_PAIR_STRING("path", m->path),
                        SD_JSON_BUILD_PAIR_UNSIGNED("dev", (uint64_t) m->dev),
                        SD_JSON_BUILD_PAIR_UNSIGNED("ino", (uint64_t) m->ino),
                        SD_JSON_BUILD_PAIR_STRING(
                                "compression", compression_to_string(m->compression)),
                        SD_JSON_BUILD_PAIR_STRING("parameters", m->parameters),
                        SD_JSON_BUILD_PAIR_CONDITION(!!m->install_command, "install",
                                SD_JSON_BUILD_STRING(m->install_command)),
                        SD_JSON_BUILD_PAIR_STRING("role", role(m)));
                if (k < 0)
                        return log_oom();
        }
        k = sd_json_buildo(&v,
                SD_JSON_BUILD_PAIR_CONDITION(modalias, "modalias", SD_JSON_BUILD_STRING(inputs[0])),
                SD_JSON_BUILD_PAIR_CONDITION(
                        !modalias, "names", SD_JSON_BUILD_STRV((char **) inputs)),
                SD_JSON_BUILD_PAIR_CONDITION(!!modules, "modules", SD_JSON_BUILD_VARIANT(modules)),
                SD_JSON_BUILD_PAIR_CONDITION(!modules, "modules", SD_JSON_BUILD_EMPTY_ARRAY),
                SD_JSON_BUILD_PAIR_STRV("builtin", plan->builtin),
                SD_JSON_BUILD_PAIR_STRV("blacklisted", plan->blacklisted));
        if (k < 0)
                return log_oom();
        return sd_json_variant_dump(
                v, SD_JSON_FORMAT_NEWLINE | SD_JSON_FORMAT_PRETTY_AUTO, stdout, NULL);
}

static void print_table(const Plan *plan)
{
        int w = (int) strlen("MODULE");

        for (size_t i = 0; i < plan->n_modules; i++)
                if ((int) strlen(plan->modules[i].name) > w)
                        w = (int) strlen(plan->modules[i].name);

        if (plan->n_modules > 0)
                printf("%-3s %-*s %-7s %-4s %-15s %s\n", "#", w, "MODULE", "ROLE", "COMP",
                        "DEV:INO", "PATH / PARAMETERS");
        for (size_t i = 0; i < plan->n_modules; i++) {
                const PlanModule *m = &plan->modules[i];
                char id[64];

                snprintf(id, sizeof(id), "%u:%u:%llu", major(m->dev), minor(m->dev),
                        (unsigned long long) m->ino);
                printf("%-3zu %-*s %-7s %-4s %-15s %s\n", i + 1, w, m->name, role(m),
                        compression_to_string(m->compression), id, m->path);
                if (m->parameters[0])
                        printf("%-3s %-*s parameters: %s\n", "", w, "", m->parameters);
                if (m->install_command)
                        printf("%-3s %-*s install: %s\n", "", w, "", m->install_command);
        }
        for (char **b = plan->builtin; *b; b++)
                printf("builtin: %s\n", *b);
        for (char **b = plan->blacklisted; *b; b++)
                printf("blacklisted: %s\n", *b);
        if (plan->n_modules == 0 && !plan->builtin[0] && !plan->blacklisted[0])
                printf("nothing to load\n");
}

static int verb_resolve(char *const *inputs)
{
        _cleanup_(resolver_freep) Resolver *r = NULL;
        _cleanup_(plan_unrefp) Plan *plan = NULL;
        _cleanup_free_ char *missing = NULL;
        const char *reason = NULL;
        bool modalias = arg_modalias || (inputs[0] && !inputs[1] && strchr(inputs[0], ':'));
        int k;

        if (!inputs[0])
                return log_error_errno(EINVAL, "resolve needs a MODALIAS or module names.");

        for (char *const *i = inputs; *i; i++) {
                k = modalias ? modalias_validate(*i, &reason) : modname_validate(*i, &reason);
                if (k < 0)
                        return log_error_errno(k, "Invalid %s '%s': %s.",
                                modalias ? "MODALIAS" : "module name", *i, reason);
        }
        if (modalias && inputs[1])
                return log_error_errno(EINVAL, "Only one MODALIAS at a time.");
        k = module_params_validate(arg_params, &reason);
        if (k < 0)
                return log_error_errno(k, "Invalid parameters: %s.", reason);

        k = resolver_new(&r, false, arg_module_dir, (const char *const *) arg_config);
        if (k < 0)
                return log_error_errno(k, "Failed to load the module index of %s: %m",
                        arg_module_dir ?: "the running kernel");

        if (modalias)
                k = resolver_resolve_modalias(r, inputs[0], arg_params, &plan);
        else
                k = resolver_resolve_names(r, inputs, arg_params, &plan, &missing);
        if (k == -ENOENT)
                return log_error_errno(k, "No module matches '%s' in %s.", missing ?: inputs[0],
                        resolver_module_dir(r));
        if (k < 0)
                return log_error_errno(k, "Failed to resolve: %m");

        if (arg_json)
                return print_json(plan, inputs, modalias);
        print_table(plan);
        return 0;
}

static int config_add(const char *path)
{
        size_t n = strv_length(arg_config);
        char **l = reallocarray(arg_config, n + 2, sizeof(char *));

        if (!l)
                return -ENOMEM;
        arg_config = l;
        l[n] = strdup(path);
        l[n + 1] = NULL;
        return l[n] ? 0 : -ENOMEM;
}

int main(int argc, char *argv[])
{
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_MODALIAS,
                ARG_MODULE_DIR,
                ARG_CONFIG,
                ARG_PARAMS,
                ARG_SOCKET,
                ARG_ROOT,
                ARG_SVG,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "modalias", no_argument, NULL, ARG_MODALIAS },
                { "module-dir", required_argument, NULL, ARG_MODULE_DIR },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "parameters", required_argument, NULL, ARG_PARAMS },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "root", required_argument, NULL, ARG_ROOT },
                { "svg", required_argument, NULL, ARG_SVG },
                {},
        };
        int c, k;

        log_setup("modcoalescectl");
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        puts("modcoalescectl " PROJECT_VERSION);
                        return EXIT_SUCCESS;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_MODALIAS:
                        arg_modalias = true;
                        break;
                case ARG_MODULE_DIR:
                        arg_module_dir = optarg;
                        break;
                case ARG_CONFIG:
                        if (config_add(optarg) < 0)
                                return log_oom(), EXIT_FAILURE;
                        break;
                case ARG_PARAMS:
                        arg_params = optarg;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_ROOT:
                        arg_root = optarg;
                        break;
                case ARG_SVG:
                        arg_svg = optarg;
                        break;
                default:
                        return EXIT_FAILURE;
                }

        CtlOptions o = {
                .json = arg_json,
                .socket = arg_socket,
                .parameters = arg_params,
                .modalias = arg_modalias,
                .svg = arg_svg,
        };
        const char *verb = optind < argc ? argv[optind] : "";
        char *const *args = argv + optind + (optind < argc);
        bool no_args = !args[0];

        if (strcmp(verb, "resolve") == 0)
                k = verb_resolve(args);
        else if (strcmp(verb, "load") == 0)
                k = verb_load(&o, args);
        else if (strcmp(verb, "in-flight") == 0 && no_args)
                k = verb_in_flight(&o);
        else if (strcmp(verb, "stats") == 0 && no_args)
                k = verb_stats(&o);
        else if (strcmp(verb, "monitor") == 0 && no_args)
                k = verb_monitor(&o);
        else if (strcmp(verb, "timeline") == 0 && no_args)
                k = verb_timeline(&o);
        else if (strcmp(verb, "modules-load") == 0 && no_args)
                k = verb_modules_load(&o, arg_root);
        else {
                log_error("Unknown verb or extra arguments: see --help.");
                k = -EINVAL;
        }
        strv_free(arg_config);
        return k < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
