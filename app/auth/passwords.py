"""Password hashing (argon2id) and the password policy.

The policy (NIST SP 800-63B style): at least 12 characters, no composition rules, and none
of the passwords people choose most often. The list is common_passwords.txt beside this
file (from Django's CommonPasswordValidator; common_passwords.NOTICE says where from).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")
# "password1234!" is "password" with padding: what is left must still be a real word.
_PADDING = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_MIN_CORE = 4

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("not a password anybody has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def common_passwords() -> frozenset[str]:
    """The list, lower-cased; read once per process."""
    text = COMMON_PASSWORDS.read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_common(password: str) -> bool:
    """On the list, or a listed password with only digits and symbols around it."""
    lowered = password.strip().lower()
    core = _PADDING.sub("", lowered)
    common = common_passwords()
    return lowered in common or (len(core) >= _MIN_CORE and core in common)


def policy_problem(password: str, username: str | None = None) -> str | None:
    """Why a new password is refused, or None. No composition rules."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    name = (username or "").strip().lower()
    if len(name) >= 3 and name in password.lower():
        return "Do not use your username in your password."
    if is_common(password):
        return "This password is one of the most common ones; choose another."
    return None
