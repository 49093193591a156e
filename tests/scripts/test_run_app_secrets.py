"""``make run`` generates every secret the app needs, the audit HMAC key included, without overwriting any."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from scripts.run_app import ensure_local_secrets


def test_a_fresh_secrets_file_has_an_audit_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIT_HMAC_KEY", raising=False)
    path = tmp_path / "secrets.toml"
    values = ensure_local_secrets(path)
    assert len(values["audit"]["hmac_key"]) >= 32 and values["audit"]["previous_keys"] == []


def test_an_older_secrets_file_gains_an_audit_key_and_keeps_its_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIT_HMAC_KEY", raising=False)
    path = tmp_path / "secrets.toml"
    path.write_text('cookie_secret = "kept"\n\n[auth]\ncookie_key = "kept too"\n')
    values = ensure_local_secrets(path)
    assert (values["cookie_secret"], values["auth"]["cookie_key"]) == ("kept", "kept too")
    key = values["audit"]["hmac_key"]
    assert ensure_local_secrets(path)["audit"]["hmac_key"] == key  # never replaced once written
    assert tomllib.loads(path.read_text())["audit"]["hmac_key"] == key
