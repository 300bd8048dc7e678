/* fw_json.h — the JSON text rules of the firmware core (internal): UTF-8 sequences, white space,
 * the \uXXXX escape with its surrogate pair and the one-letter escapes. One copy serves the
 * writer (jw.c), the frame's object check (fw_frame.c) and the command parser (fw_parse.c), so
 * what the board writes and what it accepts cannot drift apart. */
#ifndef FW_JSON_H
#define FW_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Index of the first byte at or after i that is not JSON white space (at most n). Inline: the
   frame check calls it before every token. */
static inline size_t fw_json_ws(const unsigned char* s, size_t n, size_t i) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
    return i;
}

/* Length of the valid UTF-8 sequence at s[0..n) (1…4: shortest form, no surrogates,
   <= U+10FFFF), or 0 if it is not valid. n >= 1. */
size_t fw_utf8_seq(const unsigned char* s, size_t n);

/* The escape after "\u" at s[*i..n): four hex digits and, for a high surrogate, the "\uXXXX" of
   its low half. On success *i is past it and *cp is the code point; false for a bad digit, a
   short input or a lone surrogate. */
bool fw_json_u_escape(const unsigned char* s, size_t n, size_t* i, unsigned* cp);

/* The byte a one-letter escape stands for (\" \\ \/ \b \f \n \r \t), 0 for any other letter. */
char fw_json_escaped_char(unsigned char e);

#endif
