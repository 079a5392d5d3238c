/* Hex digits, for the few places that read hex text (key files, sidecars, test vectors). */
#ifndef CRATON_BASE_HEX_H
#define CRATON_BASE_HEX_H

/* The value of one hex digit, or -1. */
static inline int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
#endif
