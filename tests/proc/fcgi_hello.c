/*
 * fcgi_hello.c: the smallest useful libfcgi responder, the ceiling that
 * keygate's /health is benchmarked against.  It answers every request
 * with the same headers and JSON body as /health, and nothing else.
 *
 *   fcgi_hello [-n workers] [-l host:port]
 *
 * Without -l it serves the listening socket on fd 0 (spawn-fcgi, lighttpd
 * bin-path).  With -n N it pre-forks N processes on the socket and
 * forwards SIGTERM/SIGINT to them.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HELLO_MAX_WORKERS	256

static const char hello_response[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Content-Length: 15\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "\r\n"
    "{\"status\":\"ok\"}";

static volatile sig_atomic_t	 hello_stop;

static void
hello_on_term(int sig)
{
	(void)sig;
	hello_stop = 1;
}

/* Serves requests until the process is terminated. */
static int
hello_serve(int fd)
{
	FCGX_Request	req;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, fd, 0) != 0) {
		fprintf(stderr, "fcgi_hello: libfcgi initialisation failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(hello_response, (int)sizeof(hello_response) - 1,
		    req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fcgi_hello [-n workers] [-l host:port]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	pid_t			 kids[HELLO_MAX_WORKERS], parent, dead;
	const char		*bind_addr = NULL;
	char			*end;
	long			 n = 0;
	int			 ch, fd = 0, i, alive;

	while ((ch = getopt(argc, argv, "l:n:")) != -1) {
		switch (ch) {
		case 'l':
			bind_addr = optarg;
			break;
		case 'n':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 ||
			    n > HELLO_MAX_WORKERS)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if (bind_addr != NULL &&
	    (fd = FCGX_OpenSocket(bind_addr, 1024)) == -1) {
		fprintf(stderr, "fcgi_hello: cannot listen on %s\n", bind_addr);
		return 1;
	}
	if (n == 0)
		return hello_serve(fd);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = hello_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	parent = getpid();
	for (i = 0; i < n; i++) {
		if ((kids[i] = fork()) == -1) {
			perror("fcgi_hello: fork");
			kids[i] = 0;
			hello_stop = 1;
			break;
		}
		if (kids[i] == 0) {
			sa.sa_handler = SIG_DFL;
			sigaction(SIGTERM, &sa, NULL);
			sigaction(SIGINT, &sa, NULL);
			prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
			if (getppid() != parent)
				_exit(0);
			_exit(hello_serve(fd));
		}
	}
	/* Wait until a signal or until every child is gone. */
	n = alive = i;
	while (alive > 0 && !hello_stop) {
		if ((dead = wait(NULL)) <= 0)
			continue;
		alive--;
		for (i = 0; i < n; i++)
			if (kids[i] == dead)
				kids[i] = 0;	/* never signal a reused pid */
	}
	for (i = 0; i < n; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
