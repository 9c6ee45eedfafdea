/*
 * fcgi_raw.c: a client that sends exactly the bytes it is given, when it
 * is told to, and reports what came back and when the server closed.
 * tests/proc/hostile.sh speaks raw FastCGI (records made with the
 * kg_fcgi_* helpers of tests/lib.sh) and raw HTTP with it: lying
 * lengths, stalls, half-closes and byte-by-byte uploads need control
 * over the socket that curl and bash's /dev/tcp do not give.
 *
 *   fcgi_raw [-f bytes] [-b bytes] [-p ms] [-s ms] [-c] [-t secs] host port
 *       <in >out
 *
 * Connects to host:port (IPv4), then sends all of stdin: the first -f
 * bytes at once, the rest in pieces of -b bytes (default: all at once)
 * with -p ms before each piece, then waits
 * -s ms (a stall, still sending nothing), then with -c shuts its sending
 * side down (the server reads EOF).  All along it reads what the server
 * sends and copies it to stdout; once stdin is sent it goes on reading
 * until the server closes the connection, or until -t seconds (default
 * 10) have passed since the connect.  A server that closes while
 * pieces are left stops the sending; that is no error.
 *
 * Exit status: 0 the server closed the connection (EOF), 2 the time
 * limit came first (the connection was still open), 3 the connection was
 * reset, 1 anything else (usage, connect, stdin).  One line on stderr
 * says which, with the milliseconds from the last byte sent (or the
 * stall's end) to that moment, and the bytes received:
 *   fcgi_raw: eof 1503 ms 120 bytes
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RAW_EOF		0
#define RAW_FAIL	1
#define RAW_TIMEOUT	2
#define RAW_RESET	3

/* The whole input, read before connecting (tests send at most MiBs). */
struct raw_in {
	char	*ri_data;
	size_t	 ri_len;
	size_t	 ri_sent;
};

struct raw_opts {
	size_t	 ro_first;	/* sent at once before the pieces */
	size_t	 ro_piece;	/* 0: everything at once */
	long	 ro_pause_ms;
	long	 ro_stall_ms;
	int	 ro_shut;
	long	 ro_limit_ms;
};

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fcgi_raw [-f bytes] [-b bytes] [-p ms] "
	    "[-s ms] [-c] [-t secs] host port\n");
	exit(RAW_FAIL);
}

/* Parses a whole non-negative decimal no larger than max, or exits. */
static long
num(const char *s, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 ||
	    v > max)
		usage();
	return v;
}

/* Reads all of stdin into in.  Returns 0, or -1 (reported). */
static int
read_input(struct raw_in *in)
{
	size_t	 cap = 65536;
	ssize_t	 n;
	char	*p;

	memset(in, 0, sizeof(*in));
	if ((in->ri_data = malloc(cap)) == NULL)
		goto fail;
	for (;;) {
		if (in->ri_len == cap) {
			if (cap > SIZE_MAX / 2 ||
			    (p = realloc(in->ri_data, cap * 2)) == NULL)
				goto fail;
			in->ri_data = p;
			cap *= 2;
		}
		n = read(STDIN_FILENO, in->ri_data + in->ri_len,
		    cap - in->ri_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			return 0;
		in->ri_len += (size_t)n;
	}
 fail:
	fprintf(stderr, "fcgi_raw: stdin: %s\n", strerror(errno));
	return -1;
}

static int
connect_to(const char *host, const char *port)
{
	struct sockaddr_in	sin;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)num(port, 65535));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		usage();
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1) {
		fprintf(stderr, "fcgi_raw: connect %s:%s: %s\n", host, port,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Copies all of buf to stdout.  Returns 0 or -1. */
static int
put_out(const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(STDOUT_FILENO, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads what is there.  Returns 1 while the connection is open, RAW_EOF
 * or RAW_RESET once the server ended it, or -1 on another failure.
 */
static int
drain_in(int fd, size_t *got)
{
	char	buf[16384];
	ssize_t	n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			*got += (size_t)n;
			if (put_out(buf, (size_t)n) == -1)
				return -1;
			continue;
		}
		if (n == 0)
			return RAW_EOF;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		if (errno == ECONNRESET)
			return RAW_RESET;
		return -1;
	}
}

/*
 * Waits until the deadline `until` (ms, CLOCK_MONOTONIC), reading all the
 * while; with want_write, returns early once fd is writable.  Returns 1
 * (deadline, or writable), RAW_EOF, RAW_RESET, or -1.
 */
static int
wait_io(int fd, long long until, int want_write, size_t *got)
{
	struct pollfd	pfd;
	long long	left;
	int		rc;

	for (;;) {
		left = until - now_ms();
		if (left < 0)
			left = 0;
		pfd.fd = fd;
		pfd.events = POLLIN | (want_write ? POLLOUT : 0);
		pfd.revents = 0;
		rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((rc = drain_in(fd, got)) != 1)
				return rc;
			/* POLLHUP without data left: drain_in saw EOF. */
		}
		if (want_write && (pfd.revents & POLLOUT))
			return 1;
		if (now_ms() >= until)
			return 1;
	}
}

/*
 * Sends in[ri_sent .. ri_sent + len) before the deadline, reading all
 * the while.  Returns 1 when sent, RAW_EOF / RAW_RESET when the server
 * ended the connection (or refused more), RAW_TIMEOUT, or -1.
 */
static int
send_piece(int fd, struct raw_in *in, size_t len, long long deadline,
    size_t *got)
{
	ssize_t	n;
	int	rc;

	while (len > 0) {
		if (now_ms() >= deadline)
			return RAW_TIMEOUT;
		n = send(fd, in->ri_data + in->ri_sent, len, MSG_NOSIGNAL);
		if (n > 0) {
			in->ri_sent += (size_t)n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_io(fd, deadline, 1, got)) != 1)
				return rc;
			continue;
		}
		/* The server closed: what it answered is still readable. */
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return RAW_EOF;
		return -1;
	}
	return 1;
}

static int
run(int fd, struct raw_in *in, const struct raw_opts *o, long long t0)
{
	const long long	 deadline = t0 + o->ro_limit_ms;
	const char	*what[] = { "eof", "error", "timeout", "reset" };
	long long	 sent_at;
	size_t		 got = 0, piece;
	int		 rc = 1;

	if (o->ro_first > 0)
		rc = send_piece(fd, in, o->ro_first < in->ri_len ? o->ro_first :
		    in->ri_len, deadline, &got);
	while (rc == 1 && in->ri_sent < in->ri_len) {
		if (in->ri_sent > 0 && o->ro_pause_ms > 0 &&
		    (rc = wait_io(fd, now_ms() + o->ro_pause_ms, 0, &got)) != 1)
			break;
		piece = in->ri_len - in->ri_sent;
		if (o->ro_piece > 0 && piece > o->ro_piece)
			piece = o->ro_piece;
		rc = send_piece(fd, in, piece, deadline, &got);
	}
	if (rc == 1 && o->ro_stall_ms > 0)
		rc = wait_io(fd, now_ms() + o->ro_stall_ms, 0, &got);
	sent_at = now_ms();
	if (rc == 1 && o->ro_shut && shutdown(fd, SHUT_WR) == -1)
		rc = errno == ENOTCONN ? RAW_EOF : -1;
	/* Whatever ended the sending, read until EOF or the deadline. */
	if (rc == 1 || rc == RAW_EOF) {
		while ((rc = wait_io(fd, deadline, 0, &got)) == 1 &&
		    now_ms() < deadline)
			;
		if (rc == 1)
			rc = RAW_TIMEOUT;
	}
	if (rc == -1) {
		fprintf(stderr, "fcgi_raw: %s\n", strerror(errno));
		rc = RAW_FAIL;
	}
	fprintf(stderr, "fcgi_raw: %s %lld ms %zu bytes\n", what[rc],
	    now_ms() - sent_at, got);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct raw_opts	o;
	struct raw_in	in;
	long long	t0;
	int		ch, fd, rc;

	memset(&o, 0, sizeof(o));
	o.ro_limit_ms = 10000;
	while ((ch = getopt(argc, argv, "b:cf:p:s:t:")) != -1) {
		switch (ch) {
		case 'f':
			o.ro_first = (size_t)num(optarg, INT_MAX);
			break;
		case 'b':
			o.ro_piece = (size_t)num(optarg, INT_MAX);
			break;
		case 'c':
			o.ro_shut = 1;
			break;
		case 'p':
			o.ro_pause_ms = num(optarg, 3600000);
			break;
		case 's':
			o.ro_stall_ms = num(optarg, 3600000);
			break;
		case 't':
			o.ro_limit_ms = num(optarg, 3600) * 1000;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	/* A write to a closed connection fails with EPIPE, never kills. */
	signal(SIGPIPE, SIG_IGN);
	if (read_input(&in) == -1)
		return RAW_FAIL;
	t0 = now_ms();
	if ((fd = connect_to(argv[optind], argv[optind + 1])) == -1) {
		free(in.ri_data);
		return RAW_FAIL;
	}
	rc = run(fd, &in, &o, t0);
	close(fd);
	free(in.ri_data);
	return rc;
}
