/*
 * timefmt.h: RFC 3339 date-time, in UTC microseconds since the epoch.
 *
 * Parsing accepts exactly RFC 3339 section 5.6 "date-time":
 *   YYYY-MM-DD ("T"/"t") hh:mm:ss [ "." 1*DIGIT ] ("Z"/"z" / ("+"/"-") hh:mm)
 * - 'T' and 'Z' may be lower case: the section 5.6 NOTE says so, and
 *   EIP-4361 takes "date-time" as RFC 3339 defines it.  Nothing else: no
 *   space separator, no week or ordinal dates, no missing seconds, no
 *   offset without a colon.  Formatting always writes upper case.
 * - Every numeric field has exactly its digit count; the day must exist in
 *   that month of that (proleptic Gregorian) year: 2000-02-29 and
 *   2024-02-29 exist, 2023-02-29 and 2100-02-29 do not.
 * - Fractions of any length are accepted and truncated to microseconds.
 * - "-00:00" (RFC 3339 4.3, unknown local offset) is read as UTC.
 * - A leap second (ss = 60) is accepted only where one can occur, at
 *   23:59:60 UTC once the offset is applied (so 15:59:60-08:00 is valid);
 *   it reads as the first second of the next day, as POSIX time counts it.
 *   No table of announced leap seconds is consulted.
 * The calendar arithmetic is done here (no timegm, no TZ environment).
 */
#ifndef KG_TIMEFMT_H
#define KG_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include "core/base/err.h"

/* Bytes kg_time_format_rfc3339 needs, NUL included (30 are used at most). */
#define KG_TIME_RFC3339_MAX	32

/*
 * Parses s[0..len) (no NUL needed; nothing may follow the date-time) into
 * *us, microseconds since 1970-01-01T00:00:00Z.  Returns KG_OK, or
 * KG_ERR_INVALID (and leaves *us alone) when s is not exactly a date-time.
 */
enum kg_err	kg_time_parse_rfc3339(const char *s, size_t len,
		    int64_t *us);

/*
 * Writes us as "YYYY-MM-DDThh:mm:ssZ", or with with_millis as
 * "YYYY-MM-DDThh:mm:ss.mmmZ" (microseconds truncated toward the past), to
 * out (NUL-terminated).  Returns KG_OK, or KG_ERR_INVALID when the year is
 * outside 0000-9999 (out is then "").
 */
enum kg_err	kg_time_format_rfc3339(int64_t us,
		    char out[KG_TIME_RFC3339_MAX], int with_millis);

#endif
