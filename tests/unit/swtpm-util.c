/* SPDX-License-Identifier: Apache-2.0 */
/* A swtpm of a unit test's own (swtpm-util.h). */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/swtpm-util.h"

/* A port p with p and p+1 free on 127.0.0.1 right now. */
static int free_port_pair(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int s, s2, port = -1, tries;

    for (tries = 0; tries < 20 && port < 0; tries++) {
        s = socket(AF_INET, SOCK_STREAM, 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0
            && getsockname(s, (struct sockaddr *)&a, &len) == 0) {
            port = ntohs(a.sin_port);
            s2 = socket(AF_INET, SOCK_STREAM, 0);
            a.sin_port = htons((uint16_t)(port + 1));
            if (port > 65000
                || bind(s2, (struct sockaddr *)&a, sizeof(a)) != 0) {
                port = -1;
            }
            close(s2);
        }
        close(s);
    }
    return port;
}

static int port_answers(int port)
{
    struct sockaddr_in a;
    int s = socket(AF_INET, SOCK_STREAM, 0), ok;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

pid_t tswtpm_start(const char *dir, char *tcti, size_t tcti_len)
{
    char state[300], server[80], ctrl[80];
    int port = free_port_pair(), i;
    pid_t pid;

    if (port < 0) {
        return -1;
    }
    snprintf(state, sizeof(state), "dir=%s", dir);
    snprintf(server, sizeof(server), "type=tcp,bindaddr=127.0.0.1,port=%d",
             port);
    snprintf(ctrl, sizeof(ctrl), "type=tcp,bindaddr=127.0.0.1,port=%d",
             port + 1);
    pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state,
               "--server", server, "--ctrl", ctrl, "--flags",
               "not-need-init,startup-clear", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100 && !port_answers(port + 1); i++) {
        usleep(50000);
    }
    if (i == 100) {
        tswtpm_stop(&pid);
        return -1;
    }
    snprintf(tcti, tcti_len, "swtpm:host=127.0.0.1,port=%d", port);
    setenv("TPM2TOOLS_TCTI", tcti, 1);
    setenv("TPM2OPENSSL_TCTI", tcti, 1);
    return pid;
}

pid_t tswtpm_start_tmp(const char *name, char *dir, size_t dir_len, char *tcti,
                       size_t tcti_len)
{
    const char *tmp = getenv("TMPDIR");
    pid_t pid = -1;

    snprintf(dir, dir_len, "%s/%s-XXXXXX", tmp != NULL ? tmp : "/tmp", name);
    if (mkdtemp(dir) == NULL || (pid = tswtpm_start(dir, tcti, tcti_len)) < 0) {
        fprintf(stderr, "cannot start swtpm\n");
        return -1;
    }
    return pid;
}

void tswtpm_stop(pid_t *pid)
{
    int i;

    if (*pid <= 0) {
        return;
    }
    kill(*pid, SIGTERM);
    for (i = 0; i < 100; i++) {
        if (waitpid(*pid, NULL, WNOHANG) != 0) {
            *pid = -1;
            return;
        }
        usleep(50000);
    }
    fprintf(stderr, "swtpm did not exit on SIGTERM: killed\n");
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
}
