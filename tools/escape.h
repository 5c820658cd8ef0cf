/* SPDX-License-Identifier: Apache-2.0 */
/* Text from outside (DPS answers, state files, token labels) made safe to
 * print on a terminal or to paste into a shell (issue 14, item 2). */
#ifndef DEVID_ESCAPE_H
#define DEVID_ESCAPE_H

#include <stddef.h>

/** Copies in to out (size bytes, always NUL-terminated; cut short when it
 *  does not fit) with every byte a terminal could act on made visible:
 *  C0 control characters, DEL and the UTF-8 encoded C1 controls
 *  (U+0080-U+009F) as \xHH, and the backslash as \\, so that an escaped
 *  text cannot pass for another. Returns out. */
char *devid_text_escape(const char *in, char *out, size_t size);

/** Copies in to out (size bytes, always NUL-terminated) with the value of
 *  every "pin-value=" attribute (up to the next ; & ? or blank) replaced by
 *  "***": a key name quoted in a message must never carry its PIN out.
 *  Returns out. */
char *devid_text_redact_pins(const char *in, char *out, size_t size);

/** 1 when s holds a byte devid_text_escape would escape other than the
 *  backslash (a control character), else 0. */
int devid_text_has_control(const char *s);

/** s as one POSIX shell word: unchanged when it is made only of
 *  characters no shell treats specially (letters, digits, and
 *  "_@%+=:,./-"), else in single quotes, each ' written as '\''. The
 *  caller frees the result with free(); NULL when out of memory or when s
 *  holds a control character (which no quoting keeps on one line). */
char *devid_shell_quote(const char *s);

#endif
