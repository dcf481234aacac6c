"""Accounts: organizations, users, passwords, login throttling, API tokens, certificates.

Passwords are argon2 hashes; API tokens are stored as SHA-256 hashes only, so the plaintext
is shown once when issued. Nothing here commits: callers own the transaction.
Authorization (who may see what) lives in engine.people.access, not here.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.errors import InvalidTaskData
from engine.errors import NotAllowed
from engine.errors import NotFound
from engine.models import ApiToken
from engine.models import Certificate
from engine.models import Organization
from engine.models import OrgType
from engine.models import Role
from engine.models import User
from engine.people import sessions

logger = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "xt_"  # noqa: S105 - a visible prefix, not a secret
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,79}$")
ORG_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")

# argon2id with the library's defaults (RFC 9106 low-memory profile); tests swap in a cheap one.
PASSWORD_HASHER = PasswordHasher()


class InvalidCredentials(NotAllowed):
    """Unknown user, inactive user or wrong password (deliberately indistinguishable)."""

    code = "invalid_credentials"


class AccountLocked(NotAllowed):
    """Too many failed logins; the account is locked until `until` (UTC)."""

    code = "account_locked"

    def __init__(self, until: datetime) -> None:
        super().__init__(f"account locked until {until.isoformat()}")
        self.until = until


def hash_password(password: str) -> str:
    """An argon2id hash; raises InvalidTaskData when the password is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidTaskData(
            "password too short", {"password": f"at least {MIN_PASSWORD_LENGTH} characters"}
        )
    return PASSWORD_HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so both failures cost the same time.
    return PASSWORD_HASHER.hash("not-a-real-password")


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password of 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def create_org(
    session: Session,
    *,
    code: str,
    org_type: OrgType,
    name: str,
    township_code: str | None = None,
) -> Organization:
    """Add an organization; a township is its own township unless told otherwise.

    Raises:
        InvalidTaskData: the code is malformed or the name empty.
        Conflict: the code is taken.
    """
    if not ORG_CODE_PATTERN.match(code):
        raise InvalidTaskData("bad organization code", {"code": "A-Z, 0-9, - and _ only"})
    if not name.strip():
        raise InvalidTaskData("empty organization name", {"name": "required"})
    if session.get(Organization, code) is not None:
        raise Conflict(f"organization {code} exists")
    if township_code is None and org_type == OrgType.TOWNSHIP:
        township_code = code
    org = Organization(
        code=code,
        type=OrgType(org_type),
        name=name.strip(),
        township_code=township_code,
        active=True,
    )
    session.add(org)
    session.flush()
    return org


def list_orgs(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.code)))


def set_org_active(session: Session, org: Organization, active: bool) -> None:
    """Activate or deactivate an organization (its users keep their accounts)."""
    org.active = active
    session.flush()


def get_org(session: Session, code: str) -> Organization:
    """The organization with that code; raises NotFound."""
    org = session.get(Organization, code)
    if org is None:
        raise NotFound(f"organization {code} not found")
    return org


def create_user(
    session: Session,
    *,
    username: str,
    org_code: str,
    role: Role,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
    password_hash: str | None = None,
) -> tuple[User, str | None]:
    """Add a user; returns it with the password in clear when one was generated.

    `password_hash` lets bulk seeding reuse one hash; it wins over `password`.

    Raises:
        InvalidTaskData: malformed username or too short a password.
        NotFound: unknown organization.
        Conflict: the username is taken.
    """
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise InvalidTaskData("bad username", {"username": "3-80 of a-z, 0-9, _ . -"})
    get_org(session, org_code)
    if find_user(session, username) is not None:
        raise Conflict(f"user {username} exists")
    generated = None
    if password_hash is None:
        generated = generate_password() if password is None else None
        password_hash = hash_password(password or generated or "")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=password_hash,
        org_code=org_code,
        role=Role(role),
        email=email or None,
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    logger.info("user %s created in %s as %s", username, org_code, role)
    return user, generated


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    """The user with that id; raises NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def list_users(session: Session, *, org_code: str | None = None) -> list[User]:
    stmt = select(User).order_by(User.org_code, User.username)
    if org_code:
        stmt = stmt.where(User.org_code == org_code)
    return list(session.scalars(stmt))


def set_password(session: Session, user: User, password: str) -> None:
    """Replace the password, lift any login lock and end every session of the user.

    Raises:
        InvalidTaskData: the password is too short.
    """
    user.password_hash = hash_password(password)
    unlock(session, user)
    sessions.end_user_sessions(session, user.id, now=datetime.now(UTC))


def unlock(session: Session, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    session.flush()


def set_active(session: Session, user: User, active: bool) -> None:
    """Activate or deactivate; an inactive user can neither log in nor use API tokens."""
    user.active = active
    if not active:
        sessions.end_user_sessions(session, user.id, now=datetime.now(UTC))
    session.flush()


def authenticate(session: Session, username: str, password: str, now: datetime) -> User:
    """The user for these credentials; counts failures and locks after five.

    The failure counter is written to the session even when this raises: the caller must
    commit in both cases.

    Raises:
        AccountLocked: locked now, or locked by this failure.
        InvalidCredentials: unknown or inactive user, or wrong password.
    """
    user = find_user(session, username)
    if user is None:
        verify_password(_dummy_hash(), password)
        raise InvalidCredentials("invalid credentials")
    if user.locked_until is not None and user.locked_until > now:
        raise AccountLocked(user.locked_until)
    if not verify_password(user.password_hash, password) or not user.active:
        _record_failure(session, user, now)
        raise InvalidCredentials("invalid credentials")
    if PASSWORD_HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = PASSWORD_HASHER.hash(password)
    unlock(session, user)
    return user


def _record_failure(session: Session, user: User, now: datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    locked = user.failed_logins >= MAX_FAILED_LOGINS
    if locked:
        user.failed_logins = 0
        user.locked_until = now + LOCK_DURATION
        logger.warning("user %s locked until %s", user.username, user.locked_until)
    session.flush()
    if locked:
        raise AccountLocked(now + LOCK_DURATION)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_api_token(session: Session, user: User, label: str) -> str:
    """A new bearer token for the user; only its hash is stored, so return it once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), label=label.strip()))
    session.flush()
    logger.info("API token %r issued to user %s", label, user.username)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning this unrevoked token (their organization comes joined), or None.

    One indexed query (token_hash is unique), so a revocation counts from the next request.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    return session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _token_hash(token), ~ApiToken.revoked, User.active.is_(True))
    )


def list_api_tokens(session: Session, *, user_id: int | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return list(session.scalars(stmt))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token by its row id; raises NotFound."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"API token {token_id} not found")
    row.revoked = True
    session.flush()
    logger.info("API token %s revoked", token_id)
    return row


def add_certificate(
    session: Session,
    user: User,
    *,
    number: str,
    fields: Sequence[str],
    valid_until: date,
    valid_from: date | None = None,
) -> Certificate:
    """Record an enforcement certificate (行政执法证) for the user.

    Raises:
        InvalidTaskData: empty number or fields, or validity ending before it starts.
        Conflict: the certificate number is taken.
    """
    number = number.strip()
    clean_fields = sorted({f.strip() for f in fields if f.strip()})
    if not number:
        raise InvalidTaskData("certificate number missing", {"number": "required"})
    if not clean_fields:
        raise InvalidTaskData("certificate fields missing", {"fields": "required"})
    if valid_from is not None and valid_until < valid_from:
        raise InvalidTaskData("validity ends before it starts", {"valid_until": "too early"})
    if session.scalar(select(Certificate).where(Certificate.number == number)) is not None:
        raise Conflict(f"certificate {number} exists")
    cert = Certificate(
        number=number, fields=clean_fields, valid_from=valid_from, valid_until=valid_until
    )
    user.certificates.append(cert)
    session.flush()
    return cert


def remove_certificate(session: Session, certificate_id: int) -> None:
    """Delete a certificate; raises NotFound."""
    cert = session.get(Certificate, certificate_id)
    if cert is None:
        raise NotFound(f"certificate {certificate_id} not found")
    cert.user.certificates.remove(cert)
    session.flush()
