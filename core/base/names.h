/*
 * names.h: the namespace name rule of SPEC 1, ^[a-z0-9][a-z0-9._-]{0,62}$,
 * and the project id rule of SPEC 6, ^[A-Za-z0-9._:-]{1,64}$, written
 * once for the configuration, the gate, the handlers and the tools.
 */
#ifndef KG_NAMES_H
#define KG_NAMES_H

#define KG_NAMESPACE_MAX	63	/* bytes, without the NUL */
#define KG_PROJECT_ID_MAX	64	/* bytes, without the NUL */

/* Returns 1 when s is a valid namespace name, else 0. */
static inline int
kg_namespace_valid(const char *s)
{
	int	i, c;

	for (i = 0; (c = (unsigned char)s[i]) != '\0'; i++) {
		if (i >= KG_NAMESPACE_MAX)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return i > 0;
}

/* Returns 1 when s is a valid project id, else 0. */
static inline int
kg_project_id_valid(const char *s)
{
	int	i, c;

	for (i = 0; (c = (unsigned char)s[i]) != '\0'; i++) {
		if (i >= KG_PROJECT_ID_MAX)
			return 0;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '-')
			continue;
		return 0;
	}
	return i > 0;
}

#endif
