"""Which address login throttling counts by: X-Forwarded-For only from the operator's own proxies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import components.auth as auth
from db.settings import get_settings


@pytest.fixture
def request_from(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def _set(peer: str | None, forwarded: str | None, hops: int) -> str | None:
        monkeypatch.setenv("TRUSTED_PROXY_HOPS", str(hops))
        get_settings.cache_clear()
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        monkeypatch.setattr(auth.st, "context", SimpleNamespace(headers=headers, ip_address=peer))
        return auth.client_address()

    yield _set
    get_settings.cache_clear()


def test_without_a_trusted_proxy_a_forged_header_is_ignored(request_from) -> None:  # type: ignore[no-untyped-def]
    assert request_from("198.51.100.7", "203.0.113.1", hops=0) == "198.51.100.7"


def test_behind_one_proxy_the_address_it_appended_counts(request_from) -> None:  # type: ignore[no-untyped-def]
    # The client wrote "1.1.1.1" itself; the proxy appended the peer it saw.
    assert request_from("10.0.0.2", "1.1.1.1, 203.0.113.9", hops=1) == "203.0.113.9"
    assert request_from("10.0.0.2", "1.1.1.1, 203.0.113.9, 10.0.0.5", hops=2) == "203.0.113.9"


def test_a_missing_header_behind_a_proxy_falls_back_to_the_peer(request_from) -> None:  # type: ignore[no-untyped-def]
    assert request_from("10.0.0.2", None, hops=1) == "10.0.0.2"
    assert request_from(None, None, hops=0) is None
