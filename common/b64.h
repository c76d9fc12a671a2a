/*
 * Secret values on the JSON side: text when the bytes are UTF-8 without
 * NUL, standard base64 (RFC 4648, padded) otherwise.
 */
#ifndef B64_H
#define B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes an encoding of n bytes takes, without the final NUL. */
#define B64_ENC_LEN(n)	((((n) + 2) / 3) * 4)
/* At most the bytes a base64 text of n characters decodes to. */
#define B64_DEC_MAX(n)	(((n) / 4) * 3)

/* Writes B64_ENC_LEN(n) characters and a NUL at out. */
void	 b64_encode(const void *, size_t n, char *out);
/*
 * Decodes s (n characters: padded, no white space, nothing else) to
 * out, which has room for B64_DEC_MAX(n) bytes; the bytes written, or -1.
 */
long	 b64_decode(const char *s, size_t n, uint8_t *out);
/* Valid UTF-8 (no overlongs, no surrogates) without NUL. */
int	 valid_utf8_text(const void *, size_t);

#endif
