/* SPDX-License-Identifier: Apache-2.0 */
/* devid-dps-emulator: command line, state directory, event loop, signals
 * (SIGHUP reloads the config, SIGTERM/SIGINT stop). */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "emulator/emu.h"

static const char devid_emu_usage[] =
    "usage: devid-dps-emulator [serve] --state DIR [--config FILE] [--port N]"
    " [--mqtt-port N] [--verbose]\n"
    "       devid-dps-emulator init --state DIR\n"
    "       devid-dps-emulator issue-onboarding --state DIR --csr FILE"
    " --out FILE [--days N | --seconds N] [--cn NAME]\n"
    "       devid-dps-emulator issue-device --state DIR --csr FILE"
    " --out FILE [--days N | --seconds N] [--cn NAME]\n"
    "       devid-dps-emulator hub-plugin-path\n"
    "\n"
    "A local Azure DPS (device provisioning) emulator: HTTPS and MQTT on\n"
    "127.0.0.1 only, X.509 attestation by client certificate, certificate\n"
    "issuance from CSRs, fault injection. See docs/emulator.md.\n"
    "\n"
    "  serve             run the server (the default). On first start the\n"
    "                    PKIs are created in DIR and kept there. The bound\n"
    "                    port is written to DIR/dps.port once listening.\n"
    "  init              only create the PKIs in DIR.\n"
    "  issue-onboarding  sign a CSR with the factory CA in DIR/factory.\n"
    "  issue-device      sign a CSR with the device issuing CA in DIR/device.\n"
    "  hub-plugin-path   print where the IoT Hub stand-in's mosquitto plugin\n"
    "                    is installed.\n"
    "\n"
    "  --state DIR       state directory (PKIs, registrations, port file)\n"
    "  --config FILE     JSON config (default: id scope 0ne00000001, hub\n"
    "                    localhost, one group enrolling the factory root)\n"
    "  --port N          HTTPS port on 127.0.0.1 (default 0: any free port)\n"
    "  --mqtt-port N     also serve DPS over MQTT (TLS) on this port (0: any\n"
    "                    free port), written to DIR/dps-mqtt.port\n"
    "  --verbose         log every answer\n"
    "  --help            this text\n"
    "\n"
    "Signals: SIGHUP reloads the config (faults re-armed, server root\n"
    "switched; DIR/dps.generation counts reloads), SIGTERM/SIGINT stop.\n";

struct devid_emu_args {
    const char *state;
    const char *config;
    int port;
    int mqtt_port; /* -1: no MQTT listener */
    int verbose;
};

/* A port number argument into *port; 0 = not one. */
static int devid_emu_parse_port(const char *opt, const char *arg, int *port)
{
    char *endp = NULL;
    long v = strtol(arg, &endp, 10);

    if (endp == arg || *endp != '\0' || v < 0 || v > 65535) {
        fprintf(stderr, "%s: not a port: %s\n", opt, arg);
        return 0;
    }
    *port = (int)v;
    return 1;
}

static int devid_emu_parse_args(int argc, char **argv,
                                struct devid_emu_args *a)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 's' },
        { "config", required_argument, NULL, 'c' },
        { "port", required_argument, NULL, 'p' },
        { "mqtt-port", required_argument, NULL, 'm' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        if (c == 's') {
            a->state = optarg;
        } else if (c == 'c') {
            a->config = optarg;
        } else if (c == 'p') {
            if (!devid_emu_parse_port("--port", optarg, &a->port)) {
                return 2;
            }
        } else if (c == 'm') {
            if (!devid_emu_parse_port("--mqtt-port", optarg, &a->mqtt_port)) {
                return 2;
            }
        } else if (c == 'v') {
            a->verbose = 1;
        } else if (c == 'h') {
            fputs(devid_emu_usage, stdout);
            return 0;
        } else {
            fputs(devid_emu_usage, stderr);
            return 2;
        }
    }
    if (a->state == NULL || optind != argc) {
        fputs(devid_emu_usage, stderr);
        return 2;
    }
    return -1;
}

/* Write a small number file into the state directory. */
static void devid_emu_write_number(const char *dir, const char *name,
                                   unsigned long n)
{
    char *path = devid_emu_path(dir, name);
    char text[32];

    snprintf(text, sizeof(text), "%lu\n", n);
    if (path == NULL || !devid_emu_write_file(path, text, strlen(text), 0644)) {
        devid_emu_log("cannot write %s/%s", dir, name);
    }
    free(path);
}

/* STATE/server-root names the server PKI the emulator presents; the hub
 * stand-in's plugin follows it (docs/emulator.md, root migration). */
static void devid_emu_write_root(const struct devid_emu_server *srv)
{
    char *path = devid_emu_path(srv->pki.dir, "server-root");
    char text[3] = { srv->cfg->server_root, '\n', '\0' };

    if (path == NULL || !devid_emu_write_file(path, text, 2, 0644)) {
        devid_emu_log("cannot write %s/server-root", srv->pki.dir);
    }
    free(path);
}

static void devid_emu_on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct devid_emu_server *srv = arg;
    struct devid_emu_config *cfg;
    struct devid_emu_config *old = srv->cfg;

    (void)sig;
    (void)what;
    cfg = devid_emu_config_load(srv->config_path, &srv->pki);
    if (cfg == NULL) {
        devid_emu_log("reload failed: keeping the previous config");
        return;
    }
    srv->cfg = cfg;
    if (!devid_emu_http_reload_tls(srv)) {
        devid_emu_log("reload failed: cannot build the TLS context");
        srv->cfg = old;
        devid_emu_config_free(cfg);
        return;
    }
    devid_emu_config_free(old);
    devid_emu_faults_arm(srv);
    devid_emu_write_root(srv);
    srv->generation++;
    devid_emu_write_number(srv->pki.dir, "dps.generation", srv->generation);
    devid_emu_log("config reloaded (generation %u, server root %c)",
                  srv->generation, srv->cfg->server_root);
}

static void devid_emu_on_stop(evutil_socket_t sig, short what, void *arg)
{
    struct devid_emu_server *srv = arg;

    (void)what;
    devid_emu_log("signal %d: stopping", (int)sig);
    event_base_loopexit(srv->base, NULL);
}

static int devid_emu_loop(struct devid_emu_server *srv)
{
    struct event *hup = evsignal_new(srv->base, SIGHUP, devid_emu_on_hup, srv);
    struct event *term = evsignal_new(srv->base, SIGTERM, devid_emu_on_stop,
                                      srv);
    struct event *intr = evsignal_new(srv->base, SIGINT, devid_emu_on_stop,
                                      srv);
    int ret = 1;

    if (hup == NULL || term == NULL || intr == NULL || evsignal_add(hup, NULL)
        || evsignal_add(term, NULL) || evsignal_add(intr, NULL)) {
        goto end;
    }
    devid_emu_write_number(srv->pki.dir, "dps.generation", srv->generation);
    devid_emu_write_root(srv);
    devid_emu_write_number(srv->pki.dir, "dps.pid", (unsigned long)getpid());
    if (srv->mqtt != NULL) {
        devid_emu_write_number(srv->pki.dir, "dps-mqtt.port",
                               (unsigned long)srv->mqtt_port);
        devid_emu_log("listening on mqtts://127.0.0.1:%d", srv->mqtt_port);
    }
    devid_emu_write_number(srv->pki.dir, "dps.port", (unsigned long)srv->port);
    devid_emu_log("listening on https://127.0.0.1:%d (id scope %s)",
                  srv->port, srv->cfg->id_scope);
    ret = event_base_dispatch(srv->base) < 0;
end:
    if (hup != NULL) {
        event_free(hup);
    }
    if (term != NULL) {
        event_free(term);
    }
    if (intr != NULL) {
        event_free(intr);
    }
    return ret;
}

/* Remove the port files: never a stale port (at start), nor one of a
 * server that stopped (at exit). */
static void devid_emu_unlink_ports(const char *dir)
{
    static const char *const names[] = { "dps.port", "dps-mqtt.port" };
    char *path;
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path = devid_emu_path(dir, names[i]);
        if (path != NULL) {
            unlink(path);
        }
        free(path);
    }
}

static int devid_emu_serve(const struct devid_emu_args *a, int init_only)
{
    struct devid_emu_server srv;
    int ret = 1;

    memset(&srv, 0, sizeof(srv));
    srv.config_path = a->config;
    srv.verbose = a->verbose;
    signal(SIGPIPE, SIG_IGN);
    if (!devid_emu_pki_open(&srv.pki, a->state)) {
        fprintf(stderr, "cannot open the state directory %s\n", a->state);
        goto end;
    }
    if (init_only) {
        ret = 0;
        goto end;
    }
    devid_emu_unlink_ports(a->state);
    srv.cfg = devid_emu_config_load(a->config, &srv.pki);
    srv.store = devid_emu_store_new(a->state);
    srv.base = event_base_new();
    if (srv.cfg == NULL || srv.store == NULL || srv.base == NULL) {
        goto end;
    }
    devid_emu_faults_arm(&srv);
    if (!devid_emu_http_start(&srv, a->port)
        || (a->mqtt_port >= 0 && !devid_emu_mqtt_start(&srv, a->mqtt_port))) {
        goto end;
    }
    ret = devid_emu_loop(&srv);
end:
    if (!init_only) {
        devid_emu_unlink_ports(a->state);
    }
    devid_emu_mqtt_stop(&srv);
    devid_emu_http_stop(&srv);
    if (srv.base != NULL) {
        event_base_free(srv.base);
    }
    devid_emu_store_free(srv.store);
    devid_emu_config_free(srv.cfg);
    devid_emu_pki_free(&srv.pki);
    return ret;
}

int main(int argc, char **argv)
{
    struct devid_emu_args a = { NULL, NULL, 0, -1, 0 };
    const char *cmd = argc > 1 ? argv[1] : "";
    int init_only = 0;
    int ret;

    if (strcmp(cmd, "issue-onboarding") == 0) {
        return devid_emu_issue_cmd(argc - 1, argv + 1, 1);
    }
    if (strcmp(cmd, "issue-device") == 0) {
        return devid_emu_issue_cmd(argc - 1, argv + 1, 0);
    }
    if (strcmp(cmd, "hub-plugin-path") == 0) {
        puts(DEVID_HUB_PLUGIN_PATH);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "init") == 0) {
        init_only = strcmp(cmd, "init") == 0;
        argc--;
        argv++;
    }
    ret = devid_emu_parse_args(argc, argv, &a);
    if (ret >= 0) {
        return ret;
    }
    return devid_emu_serve(&a, init_only);
}
