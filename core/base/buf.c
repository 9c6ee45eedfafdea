/* buf.c: growable NUL-terminated byte buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/base/buf.h"

enum kg_err
kg_buf_reserve(struct kg_buf *b, size_t extra)
{
	size_t	 need, cap;
	char	*p;

	if (extra > SIZE_MAX / 2 - b->b_len)
		return KG_ERR_TOO_LARGE;
	need = b->b_len + extra + 1;
	if (need <= b->b_cap)
		return KG_OK;
	cap = b->b_cap ? b->b_cap : 256;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(b->b_data, cap)) == NULL)
		return KG_ERR_NOMEM;
	if (b->b_data == NULL)
		p[0] = '\0';
	b->b_data = p;
	b->b_cap = cap;
	return KG_OK;
}

enum kg_err
kg_buf_append(struct kg_buf *b, const void *data, size_t len)
{
	enum kg_err r;

	if ((r = kg_buf_reserve(b, len)) != KG_OK)
		return r;
	if (len > 0)
		memcpy(b->b_data + b->b_len, data, len);
	b->b_len += len;
	b->b_data[b->b_len] = '\0';
	return KG_OK;
}

enum kg_err
kg_buf_puts(struct kg_buf *b, const char *s)
{
	return kg_buf_append(b, s, strlen(s));
}

enum kg_err
kg_buf_put_uint(struct kg_buf *b, unsigned long long v)
{
	char	d[20], *p = d + sizeof(d);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return kg_buf_append(b, p, (size_t)(d + sizeof(d) - p));
}

enum kg_err
kg_buf_printf(struct kg_buf *b, const char *fmt, ...)
{
	va_list		 ap;
	int		 n;
	enum kg_err	 r;
	size_t		 room = b->b_cap > b->b_len ? b->b_cap - b->b_len : 0;

	/* One pass when it fits in what is allocated (the usual case). */
	va_start(ap, fmt);
	n = vsnprintf(room > 0 ? b->b_data + b->b_len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (room > 0)
			b->b_data[b->b_len] = '\0';
		return KG_ERR_INTERNAL;
	}
	if ((size_t)n < room) {
		b->b_len += (size_t)n;
		return KG_OK;
	}
	if ((r = kg_buf_reserve(b, (size_t)n)) != KG_OK) {
		if (room > 0)
			b->b_data[b->b_len] = '\0';
		return r;
	}
	va_start(ap, fmt);
	vsnprintf(b->b_data + b->b_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->b_len += (size_t)n;
	return KG_OK;
}

enum kg_err
kg_buf_json_str(struct kg_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char	*p;
	const char		*run = s;
	char			 esc[7];
	enum kg_err		 r;

	/* Copy runs of plain bytes at once; escape only what RFC 8259 requires. */
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 0x20 && *p != '"' && *p != '\\')
			continue;
		if ((r = kg_buf_append(b, run, (const char *)p - run)) != KG_OK)
			return r;
		switch (*p) {
		case '"':  memcpy(esc, "\\\"", 3); break;
		case '\\': memcpy(esc, "\\\\", 3); break;
		case '\n': memcpy(esc, "\\n", 3); break;
		case '\r': memcpy(esc, "\\r", 3); break;
		case '\t': memcpy(esc, "\\t", 3); break;
		default:
			esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[*p >> 4]; esc[5] = hex[*p & 0xf]; esc[6] = '\0';
			break;
		}
		if ((r = kg_buf_puts(b, esc)) != KG_OK)
			return r;
		run = (const char *)p + 1;
	}
	return kg_buf_append(b, run, (const char *)p - run);
}

enum kg_err
kg_buf_json_qstr(struct kg_buf *b, const char *s)
{
	enum kg_err	r;

	if ((r = kg_buf_puts(b, "\"")) != KG_OK ||
	    (r = kg_buf_json_str(b, s)) != KG_OK)
		return r;
	return kg_buf_puts(b, "\"");
}

void
kg_buf_reset(struct kg_buf *b)
{
	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
}

void
kg_buf_free(struct kg_buf *b)
{
	if (b->b_data != NULL) {
		OPENSSL_cleanse(b->b_data, b->b_cap);
		free(b->b_data);
	}
	b->b_data = NULL;
	b->b_len = b->b_cap = 0;
}

const char *
kg_buf_str(const struct kg_buf *b)
{
	return b->b_data != NULL ? b->b_data : "";
}
