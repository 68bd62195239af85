"""Pure logic of plugins/module_utils/htpasswd.py (hashing, verifying, parsing)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible_collections.csc.mlflow.plugins.module_utils import htpasswd as h

OPENSSL = shutil.which("openssl")


def openssl_passwd(*args):
    return subprocess.run([OPENSSL, "passwd", *args], capture_output=True, text=True, check=True).stdout.strip()


# Published test vectors of the SHA-crypt specification and well-known MD5-crypt ones.
def test_sha512_crypt_spec_vectors():
    assert h.sha_crypt("Hello world!", "saltstring", 5000, "6") == (
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJu"
        "esI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
    )
    assert h.sha_crypt("Hello world!", "saltstringsaltstring", 10000, "6") == (
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/"
        "UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
    )


def test_sha256_crypt_spec_vector():
    assert h.sha_crypt("Hello world!", "saltstring", 5000, "5") == (
        "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
    )


@pytest.mark.skipif(not OPENSSL, reason="openssl not installed")
@pytest.mark.parametrize("password", ["a", "secret", "pä$$:wörd", "x" * 100, "with space"])
def test_against_openssl(password):
    assert h.sha_crypt(password, "abcdefgh12345678", variant="6") == openssl_passwd(
        "-6", "-salt", "abcdefgh12345678", password
    )
    assert h.md5_crypt(password, "ab12CD34") == openssl_passwd("-apr1", "-salt", "ab12CD34", password)
    assert h.md5_crypt(password, "xy", "$1$") == openssl_passwd("-1", "-salt", "xy", password)


@pytest.mark.parametrize("scheme,prefix", [("bcrypt", "$2y$05$"), ("sha512_crypt", "$6$"), ("apr1", "$apr1$")])
def test_hash_and_verify(scheme, prefix):
    hashed = h.hash_password("pw ö", scheme)
    assert hashed.startswith(prefix)
    assert h.verify_password("pw ö", hashed)
    assert not h.verify_password("pw o", hashed)
    assert h.hash_matches_scheme(hashed, scheme)
    assert h.hash_password("pw ö", scheme) != hashed  # fresh salt each time


def test_verify_other_formats():
    assert h.verify_password("password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=")
    assert h.verify_password("Hello world!", h.sha_crypt("Hello world!", "s", 5000, "5"))
    assert not h.verify_password("x", "$argon2id$v=19$m=65536,t=3,p=4$abc$def")
    assert not h.verify_password("x", "plain")
    assert not h.verify_password("x", "$2y$05$short")


def test_scheme_and_cost_matching():
    b5 = h.hash_password("p", "bcrypt", bcrypt_cost=5)
    assert h.hash_matches_scheme(b5, "bcrypt", 5)
    assert not h.hash_matches_scheme(b5, "bcrypt", 6)
    assert not h.hash_matches_scheme(b5, "sha512_crypt")
    assert h.hash_matches_scheme("$2b$" + b5[4:], "bcrypt", 5)
    assert not h.hash_matches_scheme("$2a$" + b5[4:], "bcrypt", 5)
    s = h.hash_password("p", "sha512_crypt", sha512_rounds=6000)
    assert "rounds=6000" in s and h.hash_matches_scheme(s, "sha512_crypt", sha512_rounds=6000)
    assert not h.hash_matches_scheme(s, "sha512_crypt", sha512_rounds=5000)
    assert not h.hash_matches_scheme(h.md5_crypt("p", magic="$1$"), "apr1")


def test_parse_htpasswd():
    content = "# comment\n\nalice:$apr1$x$y:comment\r\nbob:hash\nalice:second\nnocolon\n"
    assert h.parse_htpasswd(content) == [("alice", "$apr1$x$y"), ("bob", "hash")]
    assert h.parse_htpasswd(None) == []


def test_build_keeps_unchanged_entries_byte_for_byte():
    users = [{"name": "a", "password": "pa"}, {"name": "b", "password": "pb"}]
    first = h.build(users, scheme="apr1")
    assert first["added"] == ["a", "b"] and first["changed"]
    again = h.build(users, existing=first["content"], scheme="apr1")
    assert again["content"] == first["content"] and not again["changed"]
    assert again["unchanged"] == ["a", "b"]
    users[0]["password"] = "new"
    third = h.build(users + [{"name": "c", "password": "pc"}], existing=first["content"], scheme="apr1")
    assert third["updated"] == ["a"] and third["added"] == ["c"]
    assert third["content"].splitlines()[1] == first["content"].splitlines()[1]
    gone = h.build(users[1:], existing=first["content"], scheme="apr1")
    assert gone["removed"] == ["a"] and gone["content"] == first["content"].splitlines(True)[1]


def test_build_empty():
    assert h.build([], existing="")["content"] == ""
    r = h.build([], existing="a:$apr1$x$y\n")
    assert r["removed"] == ["a"] and r["changed"]


@pytest.mark.parametrize(
    "users,kwargs,expected",
    [
        ([{"name": "a:b", "password": "p"}], {}, "':'"),
        ([{"name": "a\tb", "password": "p"}], {}, "whitespace"),
        ([{"name": "", "password": "p"}], {}, "empty user name"),
        ([{"name": "#a", "password": "p"}], {}, "comment"),
        ([{"name": "a", "password": ""}], {}, "empty password"),
        ([{"name": "a", "password": None}], {}, "empty password"),
        ([{"name": "a", "password": "p"}, {"name": "a", "password": "q"}], {}, "more than once"),
        ([{"name": "a", "password": "tiny1"}], {"min_password_length": 8}, "shorter than 8"),
        ([{"name": "a", "password": "é" * 37}], {}, "72 bytes"),
        ([{"name": "a", "password": "p\x00q"}], {}, "NUL"),
        ([{"name": "a", "password": "p"}], {"bcrypt_cost": 3}, "bcrypt_cost"),
        ([{"name": "a", "password": "p"}], {"scheme": "sha512_crypt", "sha512_rounds": 10}, "sha512_rounds"),
        ([{"name": "a", "password": "p"}], {"scheme": "md5"}, "unknown scheme"),
    ],
)
def test_build_rejects(users, kwargs, expected):
    with pytest.raises(h.HtpasswdError) as err:
        h.build(users, **kwargs)
    assert expected in str(err.value)
    for u in users:
        if u.get("password") and len(u["password"]) > 1:
            assert u["password"] not in str(err.value)


def test_long_password_fine_with_sha512():
    r = h.build([{"name": "a", "password": "é" * 37}], scheme="sha512_crypt")
    assert r["content"].startswith("a:$6$")


def test_diff_names_users_not_hashes():
    first = h.build([{"name": "a", "password": "pa"}, {"name": "b", "password": "pb"}], scheme="apr1")
    r = h.build([{"name": "a", "password": "new"}, {"name": "c", "password": "pc"}], existing=first["content"], scheme="apr1")
    d = h.diff_of(r, first["content"])
    assert d["before"] == "a: old entry\nb: entry\n"
    assert d["after"] == "a: new entry\nc: entry\n"
    assert "$" not in d["before"] + d["after"]


def test_a_users_own_scheme_overrides_the_default():
    users = [{"name": "alice", "password": "alice-Passw0rd-123"},
             {"name": "gen", "password": "x" * 24, "scheme": "sha512_crypt"}]
    first = h.build(users, scheme="bcrypt", bcrypt_cost=4, sha512_rounds=1000)
    entries = dict(h.parse_htpasswd(first["content"]))
    assert entries["alice"].startswith("$2y$04$")
    assert entries["gen"].startswith("$6$rounds=1000$")
    again = h.build(users, existing=first["content"], scheme="bcrypt", bcrypt_cost=4, sha512_rounds=1000)
    assert again["content"] == first["content"] and again["unchanged"] == ["alice", "gen"]
    # the user's scheme changes: only that entry is hashed again
    moved = h.build([users[0], dict(users[1], scheme="bcrypt")], existing=first["content"], scheme="bcrypt",
                    bcrypt_cost=4, sha512_rounds=1000)
    assert moved["updated"] == ["gen"] and moved["unchanged"] == ["alice"]


def test_a_users_unknown_scheme_is_refused():
    with pytest.raises(h.HtpasswdError, match="unknown scheme 'md4'"):
        h.build([{"name": "a", "password": "p", "scheme": "md4"}])
