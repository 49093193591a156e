"""The password policy (NIST SP 800-63B): length, shipped blocklist, guessable patterns, the user name."""

from __future__ import annotations

import pytest

from db.passwords import BLOCKLIST_PATH, common_passwords, password_problem


@pytest.mark.parametrize(
    "password",
    [
        "password1234",  # issue 14: accepted before
        "aaaaaaaaaaaa",  # issue 14: accepted before
        "Password1234!",
        "iloveyou2026!!",
        "123456789012",
        "qwertyuiopas",
        "abcabcabcabc",
        "121212121212",
        "zyxwvutsrqpo",
        "1qaz2wsx3edc",
    ],
)
def test_common_and_patterned_passwords_are_refused(password: str) -> None:
    assert password_problem(password) is not None


def test_a_password_containing_the_user_name_is_refused() -> None:
    assert password_problem("dr.jane.doe likes tea", username="dr.jane.doe") == "must not contain your user name"
    assert password_problem("DR.JANE.DOE likes tea", username="dr.jane.doe") == "must not contain your user name"


@pytest.mark.parametrize("password", ["correct horse battery staple", "lithium levels on tuesday", "Ñandú-camino 7"])
def test_passphrases_without_composition_rules_are_accepted(password: str) -> None:
    # No "one digit, one capital, one symbol" rule: NIST 800-63B asks verifiers not to impose composition rules.
    assert password_problem(password, username="kim") is None


def test_length_limits() -> None:
    assert password_problem("a1b2c3d4e5f") == "at least 12 characters"
    assert password_problem("x" * 5 + "long enough passphrase " * 6) == "at most 128 characters"


def test_the_blocklist_is_shipped_as_data_and_cites_its_source() -> None:
    header = BLOCKLIST_PATH.read_text(encoding="utf-8").splitlines()[:3]
    assert any("gist.github.com/roycewilliams" in line for line in header)
    assert len(common_passwords()) > 19_000
    assert "password" in common_passwords() and "#" not in "".join(sorted(common_passwords())[:1])
