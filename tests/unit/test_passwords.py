import pytest

from app.auth.passwords import (
    common_passwords,
    hash_password,
    is_common,
    policy_problem,
    verify_password,
)


def test_hash_and_verify():
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long enough password")
    assert not verify_password(hashed, "a long enough passworD")


def test_unknown_user_never_verifies():
    assert not verify_password(None, "not a password anybody has")


def test_no_composition_rules():
    assert policy_problem("short") == "Use at least 12 characters."
    assert policy_problem("all lower case words") is None
    assert policy_problem("correct horse battery", "coord-a") is None


def test_the_shipped_list_is_read():
    words = common_passwords()
    assert len(words) > 19_000
    assert {"password", "qwerty", "iloveyou"} <= words
    assert all(w == w.lower() for w in words)


@pytest.mark.parametrize("password", [
    "password1234",  # on the list as it is
    "QWERTYUIOP123",  # case does not matter
    "  1q2w3e4r5t6y  ",  # neither do surrounding spaces
    "Password1234!!",  # a listed word padded with digits and symbols
    "!!!iloveyou2026",
    "2026-sunshine-2026",
])
def test_common_passwords_are_refused(password):
    assert is_common(password)
    assert "most common" in policy_problem(password)


def test_padding_alone_is_not_a_match():
    # a random string whose letters are too few to be a word is not called common
    assert not is_common("84613q90275641")
    assert not is_common("lupus-demo-2026")


@pytest.mark.parametrize(("password", "username"), [
    ("my name is coord-a, ok", "coord-a"),
    ("DANA.MANAGER.2026!", "dana.manager"),
])
def test_password_containing_the_username_is_refused(password, username):
    assert policy_problem(password, username) == "Do not use your username in your password."


def test_very_short_usernames_are_not_searched_for():
    assert policy_problem("a long enough password", "a") is None
