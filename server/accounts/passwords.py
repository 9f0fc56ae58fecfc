"""Password hashing with argon2 (argon2-cffi)."""

from __future__ import annotations

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("fieldround-no-such-user")


def use_parameters(params: Parameters) -> None:
    """Change the cost of new hashes (the test suite uses argon2's cheapest
    profile; production keeps argon2-cffi's RFC 9106 defaults). Existing hashes
    carry their own parameters and still verify."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(params)
    _DUMMY_HASH = _hasher.hash("fieldround-no-such-user")


MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
