from app.auth.passwords import hash_password, policy_problem, verify_password


def test_hash_and_verify():
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long enough password")
    assert not verify_password(hashed, "a long enough passworD")


def test_unknown_user_never_verifies():
    assert not verify_password(None, "not a password anybody has")


def test_policy_is_length_only():
    assert policy_problem("short") is not None
    assert policy_problem("all lower case words") is None
