/* timefmt.c: RFC 3339 date-time parsing and formatting, in UTC. */
#include <stdio.h>

#include "core/base/timefmt.h"

#define US_PER_SEC	INT64_C(1000000)
#define SEC_PER_DAY	INT64_C(86400)

/*
 * The civil <-> day-count conversions count in 400-year eras (146097 days
 * each, the Gregorian cycle) of years starting on 1 March, so that the leap
 * day is the last day of its year and month lengths follow the fixed
 * pattern 31 30 31 30 31 31 30 31 30 31 31 28/29 from March on.  Day 0 of
 * era 0 is 0000-03-01, which lies 719468 days before 1970-01-01.
 */
#define DAYS_PER_ERA		INT64_C(146097)
#define EPOCH_FROM_ERA0		INT64_C(719468)

/* Floor division for a positive divisor. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (negative before it).  Assumes 1 <= m <= 12 and 1 <= d <= 31.
 */
static int64_t
days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t		era, yoe, doy, doe;
	unsigned int	mp;

	/* Years start in March: January and February belong to y - 1. */
	if (m <= 2)
		y--;
	era = floor_div(y, 400);
	yoe = y - era * 400;				/* [0, 399] */
	mp = m > 2 ? m - 3 : m + 9;			/* March = 0 */
	/* (153 * mp + 2) / 5 is the day of year where month mp starts. */
	doy = (int64_t)((153 * mp + 2) / 5 + d - 1);	/* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* [0, 146096] */
	return era * DAYS_PER_ERA + doe - EPOCH_FROM_ERA0;
}

/* The inverse of days_from_civil. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned int *m, unsigned int *d)
{
	int64_t		era, doe, yoe, doy, mp;

	z += EPOCH_FROM_ERA0;
	era = floor_div(z, DAYS_PER_ERA);
	doe = z - era * DAYS_PER_ERA;			/* [0, 146096] */
	/* Undo the leap days before doe: one per 4 years, less one per
	 * century, plus one on the era's last day. */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / (DAYS_PER_ERA - 1)) /
	    365;					/* [0, 399] */
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* [0, 365] */
	mp = (5 * doy + 2) / 153;			/* [0, 11] */
	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = era * 400 + yoe + (*m <= 2);
}

static int
is_leap(unsigned int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned int
days_in_month(unsigned int y, unsigned int m)
{
	static const unsigned char	len[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Reads exactly n ASCII digits at s into *v; returns 0 if one is not. */
static int
get_digits(const char *s, size_t n, unsigned int *v)
{
	size_t	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (unsigned int)(s[i] - '0');
	}
	return 1;
}

enum kg_err
kg_time_parse_rfc3339(const char *s, size_t len, int64_t *us)
{
	unsigned int	y, mo, d, h, mi, sec, oh, om;
	int64_t		frac = 0, off = 0, t;
	size_t		p, start;

	/* full-date "T" partial-time, fixed width up to the seconds. */
	if (len < 20 ||
	    !get_digits(s, 4, &y) || s[4] != '-' ||
	    !get_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !get_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    !get_digits(s + 11, 2, &h) || s[13] != ':' ||
	    !get_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !get_digits(s + 17, 2, &sec))
		return KG_ERR_INVALID;
	p = 19;

	/* time-secfrac = "." 1*DIGIT; digits past the sixth are dropped. */
	if (s[p] == '.') {
		start = ++p;
		for (; p < len && s[p] >= '0' && s[p] <= '9'; p++)
			if (p - start < 6)
				frac = frac * 10 + (s[p] - '0');
		if (p == start)
			return KG_ERR_INVALID;
		for (start = p - start; start < 6; start++)
			frac *= 10;
	}

	/* time-offset = "Z" / ("+" / "-") time-hour ":" time-minute */
	if (p < len && (s[p] == 'Z' || s[p] == 'z'))
		p++;
	else if (p < len && (s[p] == '+' || s[p] == '-')) {
		if (len - p < 6 || !get_digits(s + p + 1, 2, &oh) ||
		    s[p + 3] != ':' || !get_digits(s + p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return KG_ERR_INVALID;
		off = (int64_t)(oh * 60 + om);
		if (s[p] == '-')
			off = -off;
		p += 6;
	} else
		return KG_ERR_INVALID;
	if (p != len)
		return KG_ERR_INVALID;

	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return KG_ERR_INVALID;
	/* A leap second is the 61st second of 23:59 UTC, nowhere else. */
	if (sec == 60 &&
	    ((int64_t)(h * 60 + mi) - off + 1440) % 1440 != 1439)
		return KG_ERR_INVALID;

	/* Local time minus its offset is UTC. */
	t = days_from_civil(y, mo, d) * SEC_PER_DAY +
	    (int64_t)(h * 3600 + mi * 60 + sec) - off * 60;
	*us = t * US_PER_SEC + frac;
	return KG_OK;
}

enum kg_err
kg_time_format_rfc3339(int64_t us, char out[KG_TIME_RFC3339_MAX],
    int with_millis)
{
	int64_t		secs, rem, days, sod, y;
	unsigned int	m, d, ms;

	/* Floor division without forming secs * US_PER_SEC (INT64_MIN). */
	secs = us / US_PER_SEC;
	rem = us % US_PER_SEC;
	if (rem < 0) {
		rem += US_PER_SEC;
		secs--;
	}
	ms = (unsigned int)(rem / 1000);
	days = floor_div(secs, SEC_PER_DAY);
	sod = secs - days * SEC_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		out[0] = '\0';
		return KG_ERR_INVALID;
	}
	if (with_millis)
		snprintf(out, KG_TIME_RFC3339_MAX,
		    "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned int)y,
		    m, d, (unsigned int)(sod / 3600),
		    (unsigned int)(sod / 60 % 60), (unsigned int)(sod % 60), ms);
	else
		snprintf(out, KG_TIME_RFC3339_MAX,
		    "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned int)y, m, d,
		    (unsigned int)(sod / 3600), (unsigned int)(sod / 60 % 60),
		    (unsigned int)(sod % 60));
	return KG_OK;
}
