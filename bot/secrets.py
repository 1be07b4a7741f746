"""The secret box: symmetric encryption of stored secrets (the SMTP password).

The key is a Fernet key in DATA_DIR/secret.key, generated on first start. It is
written with mode 0600 from the first byte (never world-readable, even briefly)
and published atomically, so two processes starting at once agree on one key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"
KEY_MODE = 0o600


class SecretKeyError(RuntimeError):
    """The key file exists but cannot be used (unreadable or not a Fernet key)."""


class SecretDecryptError(ValueError):
    """A stored secret does not decrypt with this key (the key was replaced or lost)."""


def _write_new_key(path: Path) -> None:
    """Create the key file with a fresh key, mode 0600, unless another process won the race."""
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE)
    try:
        os.fchmod(fd, KEY_MODE)  # the umask may have cleared bits; make it exact
        os.write(fd, Fernet.generate_key() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails when the key already exists, so a key is never replaced.
        os.link(tmp, path)
    except FileExistsError:
        pass
    except OSError:
        # A file system without hard links: rename, still never over an existing key.
        if not path.exists():
            os.rename(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _ensure_private(path: Path) -> None:
    """Restrict a key file that group or others may read to 0600, and say so."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, KEY_MODE)
        log.warning("%s was readable by others (mode %o); restricted it to 0600", path, mode)


class SecretBox:
    """Encrypts and decrypts short secrets with the key kept in DATA_DIR."""

    def __init__(self, key: bytes) -> None:
        """Wrap a Fernet key; use `load_or_create` to get the application's key."""
        self._fernet = Fernet(key)
        self._key = key

    def derive(self, purpose: str) -> bytes:
        """A key for one purpose (signing links, say), derived so the main key never leaves."""
        return hmac.new(self._key, f"probonus:{purpose}".encode(), hashlib.sha256).digest()

    def __repr__(self) -> str:
        """Never shows the key."""
        return "SecretBox(key=***)"

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SecretBox:
        """The key of DATA_DIR/secret.key, generated on first start."""
        path = Path(data_dir) / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_new_key(path)
            log.info("generated the secret key %s", path)
        _ensure_private(path)
        try:
            key = path.read_bytes().strip()
            return cls(key)
        except OSError as exc:
            raise SecretKeyError(f"{path} cannot be read: {exc.strerror}") from None
        except ValueError:
            raise SecretKeyError(
                f"{path} is not a valid key; restore it from a backup, or delete it "
                "and enter the SMTP password again in /settings"
            ) from None

    def encrypt(self, plain: str) -> str:
        """Encrypt text into a URL-safe token for the database."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made by `encrypt`; SecretDecryptError when the key does not fit."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretDecryptError(
                "a stored secret cannot be decrypted with DATA_DIR/secret.key"
            ) from None
