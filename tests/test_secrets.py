"""The secret key in DATA_DIR: private from the first byte, reused, and refusing bad input."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.secrets import KEY_FILE, SecretBox, SecretDecryptError, SecretKeyError

SECRET = "S3cret-пароль-42!"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable, as on a careless server."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_the_key_is_created_on_first_start_readable_by_the_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    SecretBox.load_or_create(data_dir)
    key_file = data_dir / KEY_FILE
    assert key_file.exists()
    assert mode_of(key_file) == 0o600
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE]  # no temporary file left


def test_a_secret_survives_a_round_trip_and_is_not_readable_in_the_token(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)
    token = box.encrypt(SECRET)
    assert SECRET not in token
    assert box.decrypt(token) == SECRET
    assert box.encrypt(SECRET) != token  # a fresh token each time


def test_the_key_is_reused_on_the_second_start(tmp_path: Path) -> None:
    token = SecretBox.load_or_create(tmp_path).encrypt(SECRET)
    key_before = (tmp_path / KEY_FILE).read_bytes()
    assert SecretBox.load_or_create(tmp_path).decrypt(token) == SECRET
    assert (tmp_path / KEY_FILE).read_bytes() == key_before


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        boxes = list(pool.map(lambda _: SecretBox.load_or_create(tmp_path), range(8)))
    token = boxes[0].encrypt(SECRET)
    assert all(box.decrypt(token) == SECRET for box in boxes)


def test_a_key_file_others_can_read_is_restricted_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = SecretBox.load_or_create(tmp_path).encrypt(SECRET)
    key_file = tmp_path / KEY_FILE
    key_file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        box = SecretBox.load_or_create(tmp_path)
    assert mode_of(key_file) == 0o600
    assert "restricted it to 0600" in caplog.text
    assert box.decrypt(token) == SECRET


def test_a_damaged_key_file_is_refused_without_showing_its_content(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("not-a-key-at-all")
    with pytest.raises(SecretKeyError) as raised:
        SecretBox.load_or_create(tmp_path)
    assert "not-a-key-at-all" not in str(raised.value)
    assert KEY_FILE in str(raised.value)


def test_a_token_from_another_key_does_not_decrypt(tmp_path: Path) -> None:
    token = SecretBox(Fernet.generate_key()).encrypt(SECRET)
    with pytest.raises(SecretDecryptError) as raised:
        SecretBox.load_or_create(tmp_path).decrypt(token)
    assert SECRET not in str(raised.value)


def test_the_box_never_shows_its_key(tmp_path: Path) -> None:
    box = SecretBox.load_or_create(tmp_path)
    key = (tmp_path / KEY_FILE).read_text().strip()
    assert key not in repr(box) and key not in str(box)
