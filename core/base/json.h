/*
 * json.h: declared JSON input (STYLE.md "Declared input").
 *
 * A handler declares its body as a table of fields (name, type, required,
 * bounds); kg_json_parse checks the whole body against it before the
 * handler looks at any value, and hands back typed values.  The generic
 * rules of SPEC 1 live here once: a body that is not JSON, not valid UTF-8,
 * nested deeper than 32 levels, not an object, or with a top-level member
 * given twice is KG_JSON_BAD_JSON
 * (400 invalid_json); an unknown member, a missing required one, a wrong
 * type or a value out of bounds is KG_JSON_BAD_FIELD naming the member
 * (400 invalid_request unless the endpoint's contract says otherwise).
 */
#ifndef KG_JSON_H
#define KG_JSON_H

#include <stddef.h>

struct json_object;
struct json_tokener;

#define KG_JSON_MAX_DEPTH	32

enum kg_jtype {
	KG_JT_STRING = 0,	/* bounds: byte length */
	KG_JT_INT,		/* bounds: value */
	KG_JT_BOOL,		/* no bounds */
	KG_JT_STRINGS,		/* array of strings; bounds: item count */
	KG_JT__MAX
};

#define KG_JF_REQUIRED	0x01	/* absent: bad field */
#define KG_JF_NULLABLE	0x02	/* null is accepted and reads as absent */

struct kg_jfield {
	const char	*jf_name;	/* NULL ends the table */
	enum kg_jtype	 jf_type;
	unsigned int	 jf_flags;
	long long	 jf_min;
	long long	 jf_max;
};

struct kg_jval {
	int		 jv_present;	/* 0 when absent or null */
	const char	*jv_str;	/* KG_JT_STRING: NUL-terminated, no NUL inside */
	size_t		 jv_len;	/* string length, or array item count */
	long long	 jv_int;
	int		 jv_bool;
	struct json_object *jv_array;	/* KG_JT_STRINGS: use kg_json_item */
};

enum kg_json_status {
	KG_JSON_OK = 0,
	KG_JSON_BAD_JSON,	/* 400 invalid_json */
	KG_JSON_BAD_FIELD,	/* 400 invalid_request, *badfield names it */
	KG_JSON_NOMEM
};

/* A per-worker parser: the tokener is allocated once and reused. */
struct kg_json {
	struct json_tokener	*js_tok;
	struct json_object	*js_root;	/* the last parsed body */
};

/*
 * Parses body[0..len) against fields (terminated by a NULL name) and fills
 * vals (one per field, same order).  String values point into js->js_root
 * and stay valid until the next kg_json_parse or kg_json_free.  On
 * KG_JSON_BAD_FIELD, *badfield is the member's name (pointing into the table
 * or, for an unknown member, into the parsed body).
 */
enum kg_json_status	 kg_json_parse(struct kg_json *js, const char *body,
			    size_t len, const struct kg_jfield *fields,
			    struct kg_jval *vals, const char **badfield);

/* Item i of a KG_JT_STRINGS value (already checked to be a string). */
const char		*kg_json_item(const struct kg_jval *, size_t i);

/* Returns 1 when s[0..len) is strict UTF-8 (RFC 3629), else 0. */
int			 kg_utf8_valid(const char *s, size_t len);

/* Frees the parsed body and the tokener. */
void			 kg_json_free(struct kg_json *js);

#endif
