#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The source checks STYLE.md lists for `make checksrc`, on C files.
#   scripts/checksrc.sh [FILE...]    default: every .c/.h in the source folders
# Rules (the name in brackets is what an allow file lists):
#   [banned]   sprintf vsprintf strcpy strcat gets atoi: unbounded or unchecked
#   [cpp-comment]  // comments: /* */ only
#   [printf]   printf fprintf vprintf vfprintf: library code logs through
#              common/log.c; programs allow it in their folder's allow file
#   [memset-secret]  memset on a name containing pin, auth, secret or key:
#              wipe secrets with devid_memzero or OPENSSL_cleanse
#   [spdx]     line 1 is /* SPDX-License-Identifier: ... */
#   [eof-newline]  the file ends with a newline
#   [braces]   if/else/for/while/do/switch bodies are in braces
# Comments, string and character literals are blanked before matching.
# Allow files: FOLDER/.checksrc, read for a file in FOLDER or below. Each line
# is `RULE GLOB`: RULE does not apply to files whose name (without folder)
# matches the shell GLOB. Say why in a # comment above the line.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
folders="common provider pkcs11 tpm2 engine-compat p11module tools emulator examples tests"

if [ $# -eq 0 ]; then
    set --
    for d in $folders; do
        [ -d "$top/$d" ] || continue
        for f in $(find "$top/$d" -name '*.[ch]' | LC_ALL=C sort); do
            set -- "$@" "$f"
        done
    done
fi

# The rules the allow files switch off for one file, as " rule rule ".
allowed() {
    path=$1
    base=${path##*/}
    dir=${path%/*}
    out=" "
    while :; do
        if [ -f "$dir/.checksrc" ]; then
            while read -r rule glob rest; do
                case $rule in '' | '#'*) continue ;; esac
                # shellcheck disable=SC2254
                case $base in $glob) out="$out$rule " ;; esac
            done <"$dir/.checksrc"
        fi
        [ "$dir" = "$top" ] || [ "$dir" = "${dir%/*}" ] && break
        case $dir in "$top"/*) dir=${dir%/*} ;; *) break ;; esac
    done
    echo "$out"
}

status=0
for f in "$@"; do
    case $f in /*) ;; *) f=$(pwd)/$f ;; esac
    rel=${f#"$top"/}
    allow=$(allowed "$f")
    if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then
        case $allow in *" eof-newline "*) ;; *)
            echo "$rel: [eof-newline] no newline at the end of the file"
            status=1 ;;
        esac
    fi
    awk -v file="$rel" -v allow="$allow" '
function report(rule, n, msg) {
    if (index(allow, " " rule " ") > 0) {
        return
    }
    printf "%s:%d: [%s] %s\n    %s\n", file, n, rule, msg, raw[n]
    bad = 1
}
# Split code[] into tokens, skipping preprocessor lines: tok[], tline[].
function tokenize(    n, s, t) {
    ntok = 0
    for (n = 1; n <= nl; n++) {
        if (pp[n]) {
            continue
        }
        s = code[n]
        while (s != "") {
            if (match(s, /^[ \t\r\f\v]+/)) {
                s = substr(s, RLENGTH + 1)
                continue
            }
            if (match(s, /^[A-Za-z_][A-Za-z0-9_]*/) \
                || match(s, /^[0-9][A-Za-z0-9_.]*/)) {
                t = substr(s, 1, RLENGTH)
            } else {
                t = substr(s, 1, 1)
            }
            s = substr(s, length(t) + 1)
            tok[++ntok] = t
            tline[ntok] = n
        }
    }
}
# Index of the token after the ) that closes the ( at i, or 0.
function after_parens(i,    depth) {
    if (i > ntok || tok[i] != "(") {
        return 0
    }
    depth = 0
    for (; i <= ntok; i++) {
        if (tok[i] == "(") {
            depth++
        } else if (tok[i] == ")" && --depth == 0) {
            return i + 1
        }
    }
    return 0
}
function check_braces(    i, j, t) {
    for (i = 1; i <= ntok; i++) {
        t = tok[i]
        if (t == "if" || t == "for" || t == "switch" || t == "while") {
            j = after_parens(i + 1)
            if (j == 0 || j > ntok) {
                continue
            }
            if (t == "while" && i > 1 && tok[i - 1] == "}" && tok[j] == ";") {
                continue        # the end of do { ... } while (x);
            }
            if (tok[j] != "{") {
                report("braces", tline[i], t " without braces")
            }
        } else if (t == "else" && i < ntok && tok[i + 1] != "{" \
                   && tok[i + 1] != "if") {
            report("braces", tline[i], "else without braces")
        } else if (t == "do" && i < ntok && tok[i + 1] != "{") {
            report("braces", tline[i], "do without braces")
        }
    }
}
# The first argument of the call whose ( starts s.
function first_arg(s,    depth, k, c) {
    depth = 0
    for (k = 1; k <= length(s); k++) {
        c = substr(s, k, 1)
        if (c == "(" || c == "[") {
            depth++
        } else if (c == ")" || c == "]") {
            if (--depth == 0) {
                break
            }
        } else if (c == "," && depth == 1) {
            break
        }
    }
    return substr(s, 2, k - 2)
}
{ raw[NR] = $0 }
END {
    nl = NR
    # Blank comments and the insides of literals, line by line, keeping
    # the quotes; note where a // comment starts.
    state = ""                  # "", "/*", "\"" or "'\''"
    for (n = 1; n <= nl; n++) {
        s = raw[n]
        out = ""
        for (k = 1; k <= length(s); k++) {
            c = substr(s, k, 1)
            two = substr(s, k, 2)
            if (state == "/*") {
                if (two == "*/") {
                    state = ""
                    out = out "  "
                    k++
                } else {
                    out = out " "
                }
            } else if (state != "") {
                if (c == "\\") {
                    out = out "  "
                    k++
                } else if (c == state) {
                    state = ""
                    out = out c
                } else {
                    out = out " "
                }
            } else if (two == "/*") {
                state = "/*"
                out = out "  "
                k++
            } else if (two == "//") {
                cpp[n] = 1
                break
            } else if (c == "\"" || c == "'\''") {
                state = c
                out = out c
            } else {
                out = out c
            }
        }
        if (state == "\"" || state == "'\''") {
            state = ""          # an unterminated literal ends with its line
        }
        code[n] = out
        # preprocessor lines and their continuations
        pp[n] = (n > 1 && pp[n - 1] && raw[n - 1] ~ /\\$/) || out ~ /^[ \t]*#/
    }

    if (raw[1] !~ /^\/\* SPDX-License-Identifier: [^ ]+.*\*\/$/) {
        report("spdx", 1, "line 1 is not /* SPDX-License-Identifier: ... */")
    }
    id = "(^|[^A-Za-z0-9_])"
    for (n = 1; n <= nl; n++) {
        s = code[n]
        if (cpp[n]) {
            report("cpp-comment", n, "// comment: use /* */")
        }
        if (match(s, id "(sprintf|vsprintf|strcpy|strcat|gets|atoi)[ \t]*\\(")) {
            w = substr(s, RSTART, RLENGTH)
            sub(/^[^A-Za-z_]/, "", w)
            sub(/[ \t]*\($/, "", w)
            report("banned", n, w "(): use a bounded or checked function")
        }
        if (match(s, id "(printf|fprintf|vprintf|vfprintf)[ \t]*\\(")) {
            report("printf", n, "printing from library code: use common/log.c")
        }
        if (match(s, id "memset[ \t]*\\(")) {
            a = substr(s, RSTART + RLENGTH - 1)
            if (tolower(first_arg(a)) ~ /pin|auth|secret|key/) {
                report("memset-secret", n, "memset on a secret-like name:"\
                       " use devid_memzero or OPENSSL_cleanse")
            }
        }
    }
    tokenize()
    check_braces()
    exit bad
}' "$f" || status=1
done
if [ $status -ne 0 ]; then
    echo "checksrc: see scripts/checksrc.sh for the rules and the allow files"
else
    echo "checksrc: $# files, no findings"
fi
exit $status
