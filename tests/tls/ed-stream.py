# SPDX-License-Identifier: Apache-2.0
"""Signs with an EdDSA key over SHA-256 and in parts (EVP_DigestSignUpdate),
both of which devid must refuse with its own reasons, then in one call
(EVP_DigestSign), which must work. The openssl commands never do the first
two with an EdDSA key (they drop a digest option for it themselves).
Usage: ed-stream.py KEY-URI. Prints OpenSSL's errors after "digest:" and
"update:", then "one-shot: ok".
"""
import ctypes
import ctypes.util
import sys

c = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
vp = ctypes.c_void_p
for name, res, args in (
        ("OSSL_PROVIDER_load", vp, [vp, ctypes.c_char_p]),
        ("OSSL_STORE_open", vp, [ctypes.c_char_p, vp, vp, vp, vp]),
        ("OSSL_STORE_load", vp, [vp]),
        ("OSSL_STORE_INFO_get1_PKEY", vp, [vp]),
        ("EVP_MD_CTX_new", vp, []),
        ("EVP_DigestSignInit_ex", ctypes.c_int,
         [vp, vp, ctypes.c_char_p, vp, vp, vp, vp]),
        ("EVP_DigestSignUpdate", ctypes.c_int, [vp, vp, ctypes.c_size_t]),
        ("EVP_DigestSign", ctypes.c_int,
         [vp, vp, ctypes.POINTER(ctypes.c_size_t), vp, ctypes.c_size_t])):
    getattr(c, name).restype = res
    getattr(c, name).argtypes = args

PRINT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t,
                         vp)


def show(text, length, arg):
    sys.stdout.write(text[:length].decode(errors="replace"))
    return 1


printer = PRINT(show)


def errors():
    c.ERR_print_errors_cb(printer, None)


if not c.OSSL_PROVIDER_load(None, b"default") \
        or not c.OSSL_PROVIDER_load(None, b"devid"):
    errors()
    sys.exit("providers do not load")
store = c.OSSL_STORE_open(sys.argv[1].encode(), None, None, None, None)
info = c.OSSL_STORE_load(store) if store else None
pkey = c.OSSL_STORE_INFO_get1_PKEY(info) if info else None
if not pkey:
    errors()
    sys.exit("no key")


def new_ctx(mdname=None):
    md = c.EVP_MD_CTX_new()
    if c.EVP_DigestSignInit_ex(md, None, mdname, None, None, pkey, None) != 1:
        return None
    return md


print("digest:")
if new_ctx(b"SHA256") is not None:
    sys.exit("EVP_DigestSignInit_ex took SHA256 for an EdDSA key")
errors()
print("update:")
data = b"a message in two parts"
ctx = new_ctx()
if ctx is None:
    errors()
    sys.exit("EVP_DigestSignInit_ex")
if c.EVP_DigestSignUpdate(ctx, data, len(data)) == 1:
    sys.exit("EVP_DigestSignUpdate was accepted")
errors()
sig = ctypes.create_string_buffer(114)
siglen = ctypes.c_size_t(len(sig))
ctx = new_ctx()
if ctx is None or c.EVP_DigestSign(ctx, sig, ctypes.byref(siglen), data,
                    len(data)) != 1:
    errors()
    sys.exit("EVP_DigestSign")
print("one-shot: ok (%d bytes)" % siglen.value)
