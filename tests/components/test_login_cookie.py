"""The login cookie's token: signed with the cookie key, expiring, and the same as streamlit-authenticator's, so a
cookie set before the app wrote its own still resumes its session."""

from __future__ import annotations

import time

import jwt

from components.login_cookie import read_login_token, sign_login_token

KEY = "k2VnX0c7mJ4pQ9sT1wY6zB3dF8hL5nR0aE2uI7oP"


def test_a_signed_token_reads_back_with_its_exact_expiry_stamp() -> None:
    expires = time.time() + 3600.123456
    assert read_login_token(sign_login_token("kim", expires, KEY), KEY) == ("kim", expires)


def test_a_token_signed_with_another_key_or_altered_is_refused() -> None:
    expires = time.time() + 3600
    token = sign_login_token("kim", expires, KEY)
    assert read_login_token(token, "another-key-" + KEY) is None
    header, _payload, signature = token.split(".")
    guessed_key = "a-guessed-key-of-the-recommended-length-0123456789"
    forged = jwt.encode({"username": "admin", "exp_date": expires}, guessed_key, algorithm="HS256").split(".")[1]
    assert read_login_token(f"{header}.{forged}.{signature}", KEY) is None
    assert read_login_token("not a token", KEY) is None
    assert read_login_token("", KEY) is None


def test_an_expired_token_is_refused() -> None:
    token = sign_login_token("kim", 1_000.0, KEY)
    assert read_login_token(token, KEY) is None
    assert read_login_token(token, KEY, now=999.0) == ("kim", 1_000.0)


def test_a_token_without_a_username_or_a_numeric_expiry_is_refused() -> None:
    later = time.time() + 3600
    for claims in (
        {"exp_date": later},
        {"username": "", "exp_date": later},
        {"username": "kim", "exp_date": "x"},
        {"username": "kim", "exp_date": True},
        {"username": "kim"},
        {"username": 7, "exp_date": later},
    ):
        assert read_login_token(jwt.encode(claims, KEY, algorithm="HS256"), KEY) is None, claims


def test_a_token_refuses_the_none_algorithm() -> None:
    unsigned = jwt.encode({"username": "kim", "exp_date": time.time() + 3600}, None, algorithm="none")
    assert read_login_token(unsigned, KEY) is None


def test_a_cookie_written_by_streamlit_authenticator_still_reads() -> None:
    # streamlit-authenticator 0.4 (models/cookie_model.py): jwt.encode({'username', 'exp_date'}, key, HS256).
    expires = time.time() + 3600
    legacy = jwt.encode({"username": "kim", "exp_date": expires}, KEY, algorithm="HS256")
    assert read_login_token(legacy, KEY) == ("kim", expires)
