/*
 * Base64 and the text test that picks between a value's two JSON forms.
 * Strict both ways: a decoder that took sloppy input would let two texts
 * stand for one value.
 */
#include "config.h"

#include <limits.h>

#include "b64.h"

static const char b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
b64_encode(const void *src, size_t n, char *out)
{
	const uint8_t *p = src;
	uint32_t v;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = b64_alpha[v >> 18];
		*out++ = b64_alpha[(v >> 12) & 63];
		*out++ = b64_alpha[(v >> 6) & 63];
		*out++ = b64_alpha[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 :
		    0);
		*out++ = b64_alpha[v >> 18];
		*out++ = b64_alpha[(v >> 12) & 63];
		*out++ = i + 1 < n ? b64_alpha[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

static int
b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
b64_decode(const char *s, size_t n, uint8_t *out)
{
	size_t i, o = 0;
	int a, b, c, d;

	if (n % 4 != 0 || n / 4 > (size_t)(LONG_MAX / 3))
		return -1;
	for (i = 0; i < n; i += 4) {
		int last = i + 4 == n;

		a = b64_val(s[i]);
		b = b64_val(s[i + 1]);
		c = last && s[i + 2] == '=' && s[i + 3] == '=' ? -2 :
		    b64_val(s[i + 2]);
		d = last && s[i + 3] == '=' && c != -1 ? -2 : b64_val(s[i + 3]);
		if (a < 0 || b < 0 || c == -1 || d == -1)
			return -1;
		out[o++] = (uint8_t)(a << 2 | b >> 4);
		if (c == -2) {
			if (b & 15)		/* bits past the end: not canonical */
				return -1;
			break;
		}
		out[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
		if (d == -2) {
			if (c & 3)
				return -1;
			break;
		}
		out[o++] = (uint8_t)((c & 3) << 6 | d);
	}
	return (long)o;
}

int
valid_utf8_text(const void *src, size_t n)
{
	const uint8_t *s = src;
	size_t i = 0, len, k;
	uint32_t cp;

	while (i < n) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4;
		else
			return 0;
		if (n - i < len)
			return 0;
		cp = s[i] & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}
