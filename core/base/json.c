/* json.c: declared JSON input on top of json-c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "core/base/json.h"

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF.  json-c's own check lets overlong forms through.
 */
int
kg_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s, *end = p + len;
	unsigned int		 c, min, n;

	while (p < end) {
		c = *p++;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1; min = 0x80; c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2; min = 0x800; c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3; min = 0x10000; c &= 0x07;
		} else
			return 0;
		if ((size_t)(end - p) < n)
			return 0;
		for (; n > 0; n--, p++) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (*p & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

/*
 * Counts the members of the top-level object in a text json-c has already
 * accepted: one ':' at depth 1 outside strings per member.  json-c keeps
 * the last of duplicated members silently; comparing this count with the
 * parsed object's size finds duplicates however their names are escaped.
 */
static size_t
count_top_members(const char *s, size_t len)
{
	size_t	i, n = 0;
	int	depth = 0, in_str = 0;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
			continue;
		}
		switch (s[i]) {
		case '"': in_str = 1; break;
		case '{': case '[': depth++; break;
		case '}': case ']': depth--; break;
		case ':': if (depth == 1) n++; break;
		default: break;
		}
	}
	return n;
}

/* Checks one present, non-null value against its declaration. */
static int
check_value(const struct kg_jfield *f, json_object *v, struct kg_jval *out)
{
	size_t	i, n;
	json_object *item;

	switch (f->jf_type) {
	case KG_JT_STRING:
		if (!json_object_is_type(v, json_type_string))
			return -1;
		out->jv_str = json_object_get_string(v);
		out->jv_len = (size_t)json_object_get_string_len(v);
		/* An embedded NUL (\u0000) would let two views disagree. */
		if (strlen(out->jv_str) != out->jv_len ||
		    (long long)out->jv_len < f->jf_min ||
		    (long long)out->jv_len > f->jf_max)
			return -1;
		return 0;
	case KG_JT_INT:
		/* Only integers as written: 1.0 and "1" are not integers. */
		if (!json_object_is_type(v, json_type_int))
			return -1;
		errno = 0;
		out->jv_int = json_object_get_int64(v);
		/*
		 * json-c saturates what int64 cannot hold as it parses: 2^63
		 * and up read as INT64_MAX (from a uint64), -2^63 - 1 and
		 * below as INT64_MIN.  Such a number is out of range, never
		 * taken for another; INT64_MIN itself cannot be told from a
		 * clamped one, so it is refused too.
		 */
		if (errno != 0 || json_object_get_uint64(v) > INT64_MAX ||
		    out->jv_int == INT64_MIN || out->jv_int < f->jf_min ||
		    out->jv_int > f->jf_max)
			return -1;
		return 0;
	case KG_JT_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return -1;
		out->jv_bool = json_object_get_boolean(v);
		return 0;
	case KG_JT_STRINGS:
		if (!json_object_is_type(v, json_type_array))
			return -1;
		n = json_object_array_length(v);
		if ((long long)n < f->jf_min || (long long)n > f->jf_max)
			return -1;
		for (i = 0; i < n; i++) {
			item = json_object_array_get_idx(v, i);
			if (!json_object_is_type(item, json_type_string) ||
			    strlen(json_object_get_string(item)) !=
			    (size_t)json_object_get_string_len(item))
				return -1;
		}
		out->jv_array = v;
		out->jv_len = n;
		return 0;
	default:
		return -1;
	}
}

enum kg_json_status
kg_json_parse(struct kg_json *js, const char *body, size_t len,
    const struct kg_jfield *fields, struct kg_jval *vals,
    const char **badfield)
{
	const struct kg_jfield	*f;
	json_object		*v;
	size_t			 i;

	*badfield = NULL;
	json_object_put(js->js_root);
	js->js_root = NULL;
	if (js->js_tok == NULL) {
		/* json-c counts the outermost value as depth 1. */
		if ((js->js_tok = json_tokener_new_ex(KG_JSON_MAX_DEPTH)) == NULL)
			return KG_JSON_NOMEM;
		json_tokener_set_flags(js->js_tok,
		    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	}
	json_tokener_reset(js->js_tok);
	if (len > (size_t)INT32_MAX || !kg_utf8_valid(body, len))
		return KG_JSON_BAD_JSON;
	js->js_root = json_tokener_parse_ex(js->js_tok, body, (int)len);
	/* Incomplete input, an error, or trailing bytes: not one JSON text. */
	if (js->js_root == NULL ||
	    json_tokener_get_error(js->js_tok) != json_tokener_success ||
	    json_tokener_get_parse_end(js->js_tok) != len ||
	    !json_object_is_type(js->js_root, json_type_object)) {
		json_object_put(js->js_root);
		js->js_root = NULL;
		return KG_JSON_BAD_JSON;
	}
	/* A duplicated member is ambiguous: two readers may disagree on it. */
	if (count_top_members(body, len) !=
	    (size_t)json_object_object_length(js->js_root))
		return KG_JSON_BAD_JSON;

	/* Unknown members are refused, naming the first one. */
	json_object_object_foreach(js->js_root, key, val) {
		(void)val;
		for (f = fields; f->jf_name != NULL; f++)
			if (strcmp(f->jf_name, key) == 0)
				break;
		if (f->jf_name == NULL) {
			*badfield = key;
			return KG_JSON_BAD_FIELD;
		}
	}
	for (i = 0, f = fields; f->jf_name != NULL; f++, i++) {
		memset(&vals[i], 0, sizeof(vals[i]));
		if (!json_object_object_get_ex(js->js_root, f->jf_name, &v) ||
		    (v == NULL && (f->jf_flags & KG_JF_NULLABLE))) {
			if (f->jf_flags & KG_JF_REQUIRED) {
				*badfield = f->jf_name;
				return KG_JSON_BAD_FIELD;
			}
			continue;
		}
		if (v == NULL || check_value(f, v, &vals[i]) == -1) {
			*badfield = f->jf_name;
			return KG_JSON_BAD_FIELD;
		}
		vals[i].jv_present = 1;
	}
	return KG_JSON_OK;
}

const char *
kg_json_item(const struct kg_jval *v, size_t i)
{
	if (v->jv_array == NULL || i >= v->jv_len)
		return NULL;
	return json_object_get_string(json_object_array_get_idx(v->jv_array, i));
}

void
kg_json_free(struct kg_json *js)
{
	json_object_put(js->js_root);
	js->js_root = NULL;
	if (js->js_tok != NULL)
		json_tokener_free(js->js_tok);
	js->js_tok = NULL;
}
