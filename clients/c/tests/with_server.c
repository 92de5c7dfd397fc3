/*
 * pviommu-with-server [--host FILE] PROGRAM [ARGS...]
 *
 * Starts `$PVIOMMU_SERVE serve --socket DIR/s [--host FILE]` in a fresh temporary folder (with
 * --host, the server serves the host of that scenario file), waits until it
 * answers, runs PROGRAM with PVIOMMU_SOCKET=DIR/s, then stops the server with SIGTERM and checks
 * that it exits 0 and removes its socket file. Exits with PROGRAM's status (1 when the server
 * misbehaved), or 77 (skipped) when PVIOMMU_SERVE is empty.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int answers(const char *path)
{
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path)
        return 0;
    memcpy(addr.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    int ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

static void show_log(const char *log)
{
    char line[512];
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- server output ----\n");
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

/* Waits up to `seconds` for `pid`; its wait status, or -1 on timeout. */
static int wait_for(pid_t pid, double seconds)
{
    double deadline = now() + seconds;
    int status;
    while (now() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        sleep_ms(20);
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *self = argv[0], *host = NULL;
    if (argc >= 3 && strcmp(argv[1], "--host") == 0) {
        host = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 2 || (host != NULL && strchr(host, '\'') != NULL)) {
        fprintf(stderr, "usage: %s [--host FILE] PROGRAM [ARGS...] (FILE without a single quote)\n", self);
        return 2;
    }
    const char *serve = getenv("PVIOMMU_SERVE");
    if (serve == NULL || *serve == '\0') {
        printf("SKIP: PVIOMMU_SERVE is empty (configure with -DPVIOMMU_SERVE=\"dotnet /path/pviommu.dll\")\n");
        return 77;
    }

    char dir[] = "/tmp/pviommu-ctest-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char path[128], log[128], command[4096];
    snprintf(path, sizeof path, "%s/s", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    int n = snprintf(command, sizeof command, "exec %s serve --socket '%s'", serve, path);
    if (host != NULL && n > 0 && (size_t)n < sizeof command) {
        int more = snprintf(command + n, sizeof command - (size_t)n, " --host '%s'", host);
        n = more < 0 ? -1 : n + more;
    }
    if (n < 0 || (size_t)n >= sizeof command) {
        fprintf(stderr, "the server command is too long\n");
        return 2;
    }

    pid_t server = fork();
    if (server == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }

    double deadline = now() + 120;
    while (!answers(path)) {
        if (waitpid(server, NULL, WNOHANG) == server || now() > deadline) {
            fprintf(stderr, "the server did not start: %s\n", command);
            show_log(log);
            kill(server, SIGKILL);
            return 1;
        }
        sleep_ms(50);
    }

    pid_t child = fork();
    if (child == 0) {
        setenv("PVIOMMU_SOCKET", path, 1);
        execv(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    int status = wait_for(child, 600);
    int result = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (status == -1) {
        fprintf(stderr, "%s did not finish\n", argv[1]);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }

    kill(server, SIGTERM);
    int server_status = wait_for(server, 30);
    struct stat st;
    if (server_status == -1 || !WIFEXITED(server_status) || WEXITSTATUS(server_status) != 0) {
        fprintf(stderr, "the server did not stop cleanly on SIGTERM\n");
        if (server_status == -1) {
            kill(server, SIGKILL);
            waitpid(server, NULL, 0);
        }
        result = 1;
    } else if (stat(path, &st) == 0) {
        fprintf(stderr, "the server left its socket file behind\n");
        result = 1;
    }
    if (result != 0)
        show_log(log);
    unlink(log);
    unlink(path);
    rmdir(dir);
    return result;
}
