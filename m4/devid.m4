dnl SPDX-License-Identifier: Apache-2.0
dnl devid's own configure checks. They live in the tree, so that building
dnl from git needs only autoconf, automake, libtool and pkg-config.

dnl DEVID_CHECK_CFLAG(FLAG, [ACTION-IF-ACCEPTED], [OTHER-FLAGS])
dnl Runs ACTION-IF-ACCEPTED when the C compiler takes FLAG, next to
dnl OTHER-FLAGS, without any warning (the test compile uses -Werror, so an
dnl unknown warning option that the compiler only warns about is refused
dnl too; OTHER-FLAGS lets -Werror=format-security see its -Wformat).
AC_DEFUN([DEVID_CHECK_CFLAG], [
    AC_MSG_CHECKING([whether $CC accepts $1])
    devid_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $3 $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
        [AC_MSG_RESULT([yes])
         $2],
        [AC_MSG_RESULT([no])])
    CFLAGS=$devid_save_CFLAGS
])

dnl DEVID_CHECK_LDFLAG(FLAG, [ACTION-IF-ACCEPTED])
dnl Runs ACTION-IF-ACCEPTED when a program links with FLAG.
AC_DEFUN([DEVID_CHECK_LDFLAG], [
    AC_MSG_CHECKING([whether the linker accepts $1])
    devid_save_LDFLAGS=$LDFLAGS
    LDFLAGS="$LDFLAGS -Werror $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
        [AC_MSG_RESULT([yes])
         $2],
        [AC_MSG_RESULT([no])])
    LDFLAGS=$devid_save_LDFLAGS
])

dnl DEVID_OPENSSL_MAJOR
dnl Sets devid_ssl_major to OPENSSL_VERSION_MAJOR of the headers devid
dnl builds against (CRYPTO_CFLAGS) and devid_ssl_text to their version text.
AC_DEFUN([DEVID_OPENSSL_MAJOR], [
    devid_save_CPPFLAGS=$CPPFLAGS
    CPPFLAGS="$CPPFLAGS $CRYPTO_CFLAGS"
    AC_COMPUTE_INT([devid_ssl_major], [OPENSSL_VERSION_MAJOR],
        [[#include <openssl/opensslv.h>]],
        [AC_MSG_ERROR([cannot read OPENSSL_VERSION_MAJOR from <openssl/opensslv.h>])])
    devid_ssl_text=`$PKG_CONFIG --modversion libssl 2>/dev/null`
    CPPFLAGS=$devid_save_CPPFLAGS
])

dnl DEVID_SAME_LIBSSL(PKG, LIBRARY)
dnl Refuses to configure when LIBRARY (a file name such as libcurl.so,
dnl looked for in pkg-config PKG's libdir) is linked to a libssl or
dnl libcrypto of another major version than the OpenSSL devid builds
dnl against: both would be loaded into one process, and OpenSSL objects
dnl passed between them crash it. A LIBRARY linked to no OpenSSL at all
dnl (libcurl built with GnuTLS, say) is fine. Needs DEVID_OPENSSL_MAJOR.
AC_DEFUN([DEVID_SAME_LIBSSL], [
    AC_REQUIRE([DEVID_OPENSSL_MAJOR])
    AC_MSG_CHECKING([which libssl $2 is linked to])
    devid_lib=`$PKG_CONFIG --variable=libdir $1 2>/dev/null`/$2
    dnl some .pc files name a libdir the library is not in: then ask the
    dnl compiler, which searches where the linker will
    AS_IF([test ! -e "$devid_lib"], [devid_lib=`$CC -print-file-name=$2`])
    AS_IF([test ! -e "$devid_lib"],
        [AC_MSG_ERROR([cannot find $2 (of $1) to check which libssl it uses])])
    devid_needed=`$OBJDUMP -p "$devid_lib" 2>/dev/null \
        | sed -n 's/^ *NEEDED *\(lib\(ssl\|crypto\)\.so\.[[0-9]]*\)$/\1/p' | tr '\n' ' '`
    AC_MSG_RESULT([${devid_needed:-none}($devid_lib)])
    for devid_so in $devid_needed; do
        AS_IF([test "x`echo "$devid_so" | sed 's/.*\.so\.//'`" != "x$devid_ssl_major"],
            [AC_MSG_ERROR([$devid_lib ($1) is linked to $devid_so, but devid builds against OpenSSL $devid_ssl_text (libssl.so.$devid_ssl_major): one process would load both, and they crash on each other's objects. Build $1 against OpenSSL $devid_ssl_major, or leave the CLI and the emulator out with --disable-tools])])
    done
])

dnl DEVID_SONAME(VAR, LIBS, LIBNAME)
dnl Sets VAR to the file name a program linked with LIBS records for
dnl LIBNAME (its SONAME, e.g. libp11-kit.so.0), which devid.so dlopen()s
dnl on first use (common/lazy.c); AC_DEFINEs it as VAR. Fails when LIBS do
dnl not bring LIBNAME.
AC_DEFUN([DEVID_SONAME], [
    AC_MSG_CHECKING([the file name of $3])
    devid_save_LIBS=$LIBS
    LIBS="-Wl,--no-as-needed $2 $LIBS"
    $1=
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
        [$1=`$OBJDUMP -p conftest$EXEEXT | awk '$[]1 == "NEEDED" && $[]2 ~ /^$3\.so/ { print $[]2; exit }'`])
    LIBS=$devid_save_LIBS
    AS_IF([test -z "$$1"], [AC_MSG_ERROR([cannot tell which file $3 is])])
    AC_MSG_RESULT([$$1])
    AC_DEFINE_UNQUOTED([$1], ["$$1"], [file name of $3 (dlopen)])
])
