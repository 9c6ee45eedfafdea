/*
 * buf.h: a growable byte buffer, always NUL-terminated.
 *
 * Workers keep their buffers across requests (kg_buf_reset keeps the
 * allocation), so the hot path does not allocate once warm.
 */
#ifndef KG_BUF_H
#define KG_BUF_H

#include <stddef.h>
#include "core/base/err.h"

struct kg_buf {
	char	*b_data;	/* NUL-terminated; NULL until first write */
	size_t	 b_len;		/* bytes used, excluding the NUL */
	size_t	 b_cap;		/* bytes allocated */
};

#define KG_BUF_INIT { NULL, 0, 0 }

/* Ensures room for extra more bytes plus the NUL. */
enum kg_err	 kg_buf_reserve(struct kg_buf *, size_t extra);
enum kg_err	 kg_buf_append(struct kg_buf *, const void *, size_t);
enum kg_err	 kg_buf_puts(struct kg_buf *, const char *);
/* Appends v in decimal (no printf: response heads are built per request). */
enum kg_err	 kg_buf_put_uint(struct kg_buf *, unsigned long long);
enum kg_err	 kg_buf_printf(struct kg_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* Appends s as the inside of a JSON string (no quotes), escaping as RFC 8259. */
enum kg_err	 kg_buf_json_str(struct kg_buf *, const char *s);
/* Appends s as a quoted JSON string: kg_buf_json_str between quotes. */
enum kg_err	 kg_buf_json_qstr(struct kg_buf *, const char *s);
/* Empties the buffer, keeping its allocation. */
void		 kg_buf_reset(struct kg_buf *);
/* Frees the allocation, wiping it first (buffers may have held secrets). */
void		 kg_buf_free(struct kg_buf *);
/* Returns the contents ("" when empty); valid until the next write. */
const char	*kg_buf_str(const struct kg_buf *);

#endif
