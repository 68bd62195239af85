# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Build htpasswd content for NGINX ``auth_basic``: hash, verify and parse.

Pure Python apart from the optional ``bcrypt`` package (for the bcrypt scheme).
SHA-crypt (``$5$``/``$6$``) and MD5-crypt (``$1$``/``$apr1$``) are implemented
here after the published specifications, because Python's ``crypt`` module is
deprecated (removed in Python 3.13) and ``passlib`` 1.7.4 breaks with bcrypt 5.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import re
import secrets

try:
    import bcrypt as _bcrypt

    HAS_BCRYPT = True
    BCRYPT_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the environment
    _bcrypt = None
    HAS_BCRYPT = False
    BCRYPT_IMPORT_ERROR = _exc


SCHEMES = ("bcrypt", "sha512_crypt", "apr1")
DEFAULT_BCRYPT_COST = 5
DEFAULT_SHA512_ROUNDS = 5000
BCRYPT_MAX_PASSWORD_BYTES = 72

# Shared by the module (documentation, validate-modules) and the action plugin.
ARGUMENT_SPEC = dict(
    users=dict(
        type="list",
        elements="dict",
        required=True,
        options=dict(
            name=dict(type="str", required=True),
            password=dict(type="str", required=True, no_log=True),
            scheme=dict(type="str", choices=list(SCHEMES)),
        ),
    ),
    existing=dict(type="str", default=""),
    scheme=dict(type="str", default="bcrypt", choices=list(SCHEMES)),
    bcrypt_cost=dict(type="int", default=DEFAULT_BCRYPT_COST),
    sha512_rounds=dict(type="int", default=DEFAULT_SHA512_ROUNDS),
    min_password_length=dict(type="int", default=0, no_log=False),
)

_CRYPT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SALT_RE = re.compile(r"^[./0-9A-Za-z]*$")


class HtpasswdError(ValueError):
    """Invalid input; the message names the offending user, never a password."""


class MissingBcrypt(HtpasswdError):
    """The bcrypt scheme (or a bcrypt entry to verify) needs the bcrypt package."""


# --------------------------------------------------------------------------- #
# crypt helpers
# --------------------------------------------------------------------------- #
def _b64_from_24bit(b2, b1, b0, n):
    w = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _dummy in range(n):
        out.append(_CRYPT_ALPHABET[w & 0x3F])
        w >>= 6
    return "".join(out)


def gen_salt(length):
    """A random salt of ``length`` characters from the crypt alphabet."""
    return "".join(secrets.choice(_CRYPT_ALPHABET) for _dummy in range(length))


def _repeat_to(data, length):
    return (data * (length // len(data) + 1))[:length]


# --------------------------------------------------------------------------- #
# SHA-crypt ($5$ and $6$), after Ulrich Drepper's "Unix crypt using SHA-256 and
# SHA-512" specification.
# --------------------------------------------------------------------------- #
_SHA_PARAMS = {
    "5": (hashlib.sha256, 32),
    "6": (hashlib.sha512, 64),
}
SHA_ROUNDS_DEFAULT = 5000
SHA_ROUNDS_MIN = 1000
SHA_ROUNDS_MAX = 999999999


def _sha_crypt_raw(variant, password, salt, rounds):
    hfunc, hlen = _SHA_PARAMS[variant]
    pw = password
    s = salt

    b = hfunc(pw + s + pw).digest()
    a = hfunc()
    a.update(pw)
    a.update(s)
    a.update(_repeat_to(b, len(pw)))
    cnt = len(pw)
    while cnt > 0:
        a.update(b if cnt & 1 else pw)
        cnt >>= 1
    a = a.digest()

    p_seq = _repeat_to(hfunc(pw * len(pw)).digest(), len(pw)) if pw else b""
    s_seq = _repeat_to(hfunc(s * (16 + a[0])).digest(), len(s)) if s else b""

    c = a
    for i in range(rounds):
        ctx = hfunc()
        ctx.update(p_seq if i & 1 else c)
        if i % 3:
            ctx.update(s_seq)
        if i % 7:
            ctx.update(p_seq)
        ctx.update(c if i & 1 else p_seq)
        c = ctx.digest()

    out = []
    if variant == "6":
        x = 0
        for _dummy in range(21):
            out.append(_b64_from_24bit(c[x], c[(x + 21) % 63], c[(x + 42) % 63], 4))
            x = (x + 22) % 63
        out.append(_b64_from_24bit(0, 0, c[63], 2))
    else:
        x = 0
        for _dummy in range(10):
            out.append(_b64_from_24bit(c[x], c[(x + 10) % 30], c[(x + 20) % 30], 4))
            x = (x + 21) % 30
        out.append(_b64_from_24bit(0, c[31], c[30], 3))
    return "".join(out)


def sha_crypt(password, salt=None, rounds=SHA_ROUNDS_DEFAULT, variant="6", explicit_rounds=None):
    """``$6$`` (or ``$5$``) crypt of ``password`` (str or bytes).

    ``rounds=`` appears in the result when it differs from 5000 (as glibc and
    ``openssl passwd -6`` do) or when ``explicit_rounds`` is true.
    """
    if variant not in _SHA_PARAMS:
        raise HtpasswdError("unknown SHA-crypt variant %r" % variant)
    if salt is None:
        salt = gen_salt(16)
    salt = salt[:16]
    if not _SALT_RE.match(salt):
        raise HtpasswdError("invalid SHA-crypt salt")
    rounds = max(SHA_ROUNDS_MIN, min(SHA_ROUNDS_MAX, int(rounds)))
    if explicit_rounds is None:
        explicit_rounds = rounds != SHA_ROUNDS_DEFAULT
    digest = _sha_crypt_raw(variant, _to_bytes(password), salt.encode("ascii"), rounds)
    prefix = "$%s$" % variant
    if explicit_rounds:
        prefix += "rounds=%d$" % rounds
    return "%s%s$%s" % (prefix, salt, digest)


_SHA_HASH_RE = re.compile(
    r"^\$(?P<v>[56])\$(?:rounds=(?P<r>[0-9]+)\$)?(?P<s>[./0-9A-Za-z]{0,16})\$(?P<h>[./0-9A-Za-z]+)$"
)


def _sha_crypt_verify(password, hashed):
    m = _SHA_HASH_RE.match(hashed)
    if not m:
        return False
    explicit = m.group("r") is not None
    rounds = int(m.group("r")) if explicit else SHA_ROUNDS_DEFAULT
    candidate = sha_crypt(password, m.group("s"), rounds, m.group("v"), explicit_rounds=explicit)
    return hmac.compare_digest(candidate.encode("ascii"), hashed.encode("ascii"))


# --------------------------------------------------------------------------- #
# MD5-crypt ($1$, Poul-Henning Kamp) and its Apache variant ($apr1$).
# --------------------------------------------------------------------------- #
def md5_crypt(password, salt=None, magic="$apr1$"):
    """``$apr1$`` (default) or ``$1$`` crypt of ``password``."""
    if magic not in ("$apr1$", "$1$"):
        raise HtpasswdError("unknown MD5-crypt magic %r" % magic)
    if salt is None:
        salt = gen_salt(8)
    salt = salt[:8]
    if not _SALT_RE.match(salt):
        raise HtpasswdError("invalid MD5-crypt salt")
    pw = _to_bytes(password)
    s = salt.encode("ascii")

    alt = hashlib.md5(pw + s + pw).digest()
    ctx = hashlib.md5()
    ctx.update(pw + magic.encode("ascii") + s)
    ctx.update(_repeat_to(alt, len(pw)))
    i = len(pw)
    while i:
        ctx.update(b"\0" if i & 1 else pw[:1])
        i >>= 1
    final = ctx.digest()

    for i in range(1000):
        c = hashlib.md5()
        c.update(pw if i & 1 else final)
        if i % 3:
            c.update(s)
        if i % 7:
            c.update(pw)
        c.update(final if i & 1 else pw)
        final = c.digest()

    f = final
    out = "".join(
        [
            _b64_from_24bit(f[0], f[6], f[12], 4),
            _b64_from_24bit(f[1], f[7], f[13], 4),
            _b64_from_24bit(f[2], f[8], f[14], 4),
            _b64_from_24bit(f[3], f[9], f[15], 4),
            _b64_from_24bit(f[4], f[10], f[5], 4),
            _b64_from_24bit(0, 0, f[11], 2),
        ]
    )
    return "%s%s$%s" % (magic, salt, out)


_MD5_HASH_RE = re.compile(r"^(?P<m>\$apr1\$|\$1\$)(?P<s>[./0-9A-Za-z]{0,8})\$(?P<h>[./0-9A-Za-z]{22})$")


def _md5_crypt_verify(password, hashed):
    m = _MD5_HASH_RE.match(hashed)
    if not m:
        return False
    candidate = md5_crypt(password, m.group("s"), m.group("m"))
    return hmac.compare_digest(candidate.encode("ascii"), hashed.encode("ascii"))


# --------------------------------------------------------------------------- #
# bcrypt (through the bcrypt package); NGINX/Apache expect the $2y$ prefix.
# --------------------------------------------------------------------------- #
_BCRYPT_HASH_RE = re.compile(r"^\$2[abxy]\$(?P<c>[0-9]{2})\$[./0-9A-Za-z]{53}$")
BCRYPT_COST_MIN = 4
BCRYPT_COST_MAX = 31


def _require_bcrypt():
    if not HAS_BCRYPT:
        raise MissingBcrypt(
            "the bcrypt scheme needs the Python library 'bcrypt' where this runs "
            "(pip install bcrypt), or choose scheme sha512_crypt"
        )


def bcrypt_hash(password, cost=DEFAULT_BCRYPT_COST):
    _require_bcrypt()
    if not BCRYPT_COST_MIN <= int(cost) <= BCRYPT_COST_MAX:
        raise HtpasswdError("bcrypt_cost must be between %d and %d" % (BCRYPT_COST_MIN, BCRYPT_COST_MAX))
    hashed = _bcrypt.hashpw(_to_bytes(password), _bcrypt.gensalt(rounds=int(cost), prefix=b"2b"))
    return "$2y$" + hashed.decode("ascii")[4:]


def _bcrypt_verify(password, hashed):
    if not _BCRYPT_HASH_RE.match(hashed):
        return False
    _require_bcrypt()
    pw = _to_bytes(password)
    if len(pw) > BCRYPT_MAX_PASSWORD_BYTES:
        return False
    try:
        return _bcrypt.checkpw(pw, hashed.encode("ascii"))
    except ValueError:
        return False


# --------------------------------------------------------------------------- #
# public helpers
# --------------------------------------------------------------------------- #
def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def hash_password(password, scheme="bcrypt", bcrypt_cost=DEFAULT_BCRYPT_COST, sha512_rounds=DEFAULT_SHA512_ROUNDS):
    """A new hash of ``password`` in ``scheme`` with a fresh random salt."""
    if scheme == "bcrypt":
        return bcrypt_hash(password, bcrypt_cost)
    if scheme == "sha512_crypt":
        return sha_crypt(password, rounds=sha512_rounds, variant="6")
    if scheme == "apr1":
        return md5_crypt(password, magic="$apr1$")
    raise HtpasswdError("unknown scheme %r (choose one of %s)" % (scheme, ", ".join(SCHEMES)))


def verify_password(password, hashed):
    """True when ``password`` matches ``hashed`` (any scheme NGINX accepts that we know)."""
    if hashed.startswith("$2"):
        return _bcrypt_verify(password, hashed)
    if hashed.startswith(("$5$", "$6$")):
        return _sha_crypt_verify(password, hashed)
    if hashed.startswith(("$apr1$", "$1$")):
        return _md5_crypt_verify(password, hashed)
    if hashed.startswith("{SHA}"):
        digest = base64.b64encode(hashlib.sha1(_to_bytes(password)).digest()).decode("ascii")
        return hmac.compare_digest(("{SHA}" + digest).encode("ascii"), hashed.encode("ascii", "replace"))
    return False


def hash_matches_scheme(hashed, scheme, bcrypt_cost=DEFAULT_BCRYPT_COST, sha512_rounds=DEFAULT_SHA512_ROUNDS):
    """True when an existing hash is in the requested scheme with the requested cost."""
    if scheme == "bcrypt":
        m = _BCRYPT_HASH_RE.match(hashed)
        return bool(m) and hashed[:4] in ("$2y$", "$2b$") and int(m.group("c")) == int(bcrypt_cost)
    if scheme == "sha512_crypt":
        m = _SHA_HASH_RE.match(hashed)
        if not m or m.group("v") != "6":
            return False
        rounds = int(m.group("r")) if m.group("r") is not None else SHA_ROUNDS_DEFAULT
        return rounds == max(SHA_ROUNDS_MIN, min(SHA_ROUNDS_MAX, int(sha512_rounds)))
    if scheme == "apr1":
        return hashed.startswith("$apr1$") and bool(_MD5_HASH_RE.match(hashed))
    return False


def parse_htpasswd(content):
    """Entries of htpasswd ``content`` as an ordered list of ``(name, hash)``.

    Blank lines and ``#`` comments are skipped (as NGINX does); a trailing
    ``:comment`` field is dropped; the first entry of a duplicated name wins.
    """
    entries = []
    seen = set()
    for line in (content or "").splitlines():
        line = line.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        if ":" not in line:
            continue
        name, rest = line.split(":", 1)
        hashed = rest.split(":", 1)[0]
        if name in seen:
            continue
        seen.add(name)
        entries.append((name, hashed))
    return entries


_BAD_NAME_CHARS = re.compile(r"[:\s\x00-\x1f\x7f]")


def validate_users(users, scheme="bcrypt", min_password_length=0):
    """Check user names and passwords; raise HtpasswdError naming every problem."""
    problems = []
    seen = set()
    for index, user in enumerate(users or []):
        if not isinstance(user, dict):
            problems.append("users[%d] is not a dict with name and password" % index)
            continue
        name = user.get("name")
        password = user.get("password")
        label = "users[%d]" % index
        if name is None or not isinstance(name, str) or name == "":
            problems.append("%s: empty user name" % label)
            continue
        label = "user %r" % name
        if _BAD_NAME_CHARS.search(name):
            problems.append("%s: a user name may not contain ':', whitespace or control characters" % label)
        elif name.startswith("#"):
            problems.append("%s: a user name may not start with '#' (NGINX reads the line as a comment)" % label)
        if name in seen:
            problems.append("%s: listed more than once" % label)
        seen.add(name)
        if password is None or password == "":
            problems.append("%s: empty password" % label)
            continue
        password = str(password)
        if "\x00" in password:
            problems.append("%s: the password contains a NUL character" % label)
        if min_password_length and len(password) < int(min_password_length):
            problems.append("%s: the password is shorter than %d characters" % (label, int(min_password_length)))
        user_scheme = user.get("scheme") or scheme
        if user_scheme not in SCHEMES:
            problems.append("%s: unknown scheme %r (choose one of %s)" % (label, user_scheme, ", ".join(SCHEMES)))
        elif user_scheme == "bcrypt" and len(_to_bytes(password)) > BCRYPT_MAX_PASSWORD_BYTES:
            problems.append(
                "%s: the password is longer than %d bytes, which bcrypt cannot use (choose scheme sha512_crypt)"
                % (label, BCRYPT_MAX_PASSWORD_BYTES)
            )
    if problems:
        raise HtpasswdError("; ".join(problems))


def build(users, existing="", scheme="bcrypt", bcrypt_cost=DEFAULT_BCRYPT_COST,
          sha512_rounds=DEFAULT_SHA512_ROUNDS, min_password_length=0):
    """Compute new htpasswd content from ``users`` and the ``existing`` content.

    A user's own ``scheme`` (optional) overrides ``scheme`` for that entry. An entry
    whose password still verifies and whose hash already uses the requested scheme and
    cost is kept byte for byte. Returns a dict with
    ``content``, ``users``, ``added``, ``updated``, ``removed``, ``unchanged``
    and ``changed``; it never contains a password.
    """
    if scheme not in SCHEMES:
        raise HtpasswdError("unknown scheme %r (choose one of %s)" % (scheme, ", ".join(SCHEMES)))
    used = set([scheme]) | set(u.get("scheme") for u in users or [] if isinstance(u, dict) and u.get("scheme"))
    if "bcrypt" in used:
        _require_bcrypt()
        if not BCRYPT_COST_MIN <= int(bcrypt_cost) <= BCRYPT_COST_MAX:
            raise HtpasswdError("bcrypt_cost must be between %d and %d" % (BCRYPT_COST_MIN, BCRYPT_COST_MAX))
    if "sha512_crypt" in used and not SHA_ROUNDS_MIN <= int(sha512_rounds) <= SHA_ROUNDS_MAX:
        raise HtpasswdError("sha512_rounds must be between %d and %d" % (SHA_ROUNDS_MIN, SHA_ROUNDS_MAX))
    if int(min_password_length) < 0:
        raise HtpasswdError("min_password_length must not be negative")
    validate_users(users, scheme, min_password_length)

    current = dict(parse_htpasswd(existing))
    lines = []
    added, updated, unchanged = [], [], []
    for user in users or []:
        name = user["name"]
        password = str(user["password"])
        user_scheme = user.get("scheme") or scheme
        old = current.get(name)
        if (
            old is not None
            and hash_matches_scheme(old, user_scheme, bcrypt_cost, sha512_rounds)
            and verify_password(password, old)
        ):
            lines.append("%s:%s\n" % (name, old))
            unchanged.append(name)
            continue
        lines.append("%s:%s\n" % (name, hash_password(password, user_scheme, bcrypt_cost, sha512_rounds)))
        (updated if old is not None else added).append(name)
    names = [u["name"] for u in users or []]
    removed = [name for name in current if name not in set(names)]
    content = "".join(lines)
    return dict(
        content=content,
        users=names,
        added=added,
        updated=updated,
        removed=removed,
        unchanged=unchanged,
        changed=content != (existing or ""),
    )


def diff_of(result, existing=""):
    """A diff that names users and whether their entry changed, never a hash."""
    before_names = [name for name, _hash in parse_htpasswd(existing)]
    before = []
    for name in before_names:
        if name in result["updated"]:
            before.append("%s: old entry\n" % name)
        elif name in result["removed"]:
            before.append("%s: entry\n" % name)
        else:
            before.append("%s: unchanged\n" % name)
    after = []
    for name in result["users"]:
        if name in result["updated"]:
            after.append("%s: new entry\n" % name)
        elif name in result["added"]:
            after.append("%s: entry\n" % name)
        else:
            after.append("%s: unchanged\n" % name)
    return dict(before="".join(before), after="".join(after),
                before_header="htpasswd (users)", after_header="htpasswd (users)")


def run(params):
    """Entry point shared by the action plugin and the module."""
    existing = params.get("existing") or ""
    return build(
        users=params.get("users") or [],
        existing=existing,
        scheme=params.get("scheme") or "bcrypt",
        bcrypt_cost=params.get("bcrypt_cost", DEFAULT_BCRYPT_COST),
        sha512_rounds=params.get("sha512_rounds", DEFAULT_SHA512_ROUNDS),
        min_password_length=params.get("min_password_length") or 0,
    )
