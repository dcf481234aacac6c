"""`xietong org ...` and `xietong user ...`: organizations, accounts and API tokens."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.commands.support import session_scope
from engine.errors import EngineError
from engine.models import OrgType
from engine.models import Role
from engine.people import accounts


def register(sub: Any) -> None:
    """Add the `org` and `user` command groups to the CLI's subparsers."""
    org = sub.add_parser("org", help="organizations").add_subparsers(dest="org_command")
    org.required = True
    org_list = org.add_parser("list", help="print code, type and name of every organization")
    org_list.set_defaults(handler=org_list_command)
    org_create = org.add_parser("create", help="add an organization")
    org_create.add_argument("code", help="organization code, e.g. YJS-SCJG (A-Z, 0-9, - and _)")
    org_create.add_argument("--type", required=True, choices=[t.value for t in OrgType])
    org_create.add_argument("--name", required=True, help="the organization's Chinese name")
    org_create.add_argument("--township", help="township code, for a body inside a township")
    org_create.set_defaults(handler=org_create_command)

    user = sub.add_parser("user", help="user accounts").add_subparsers(dest="user_command")
    user.required = True
    create = user.add_parser("create", help="create a user (prints a generated password)")
    create.add_argument("username")
    create.add_argument("--org", required=True, help="organization code, e.g. YJS-SCJG")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--password", help="default: generate one and print it")
    create.add_argument("--display-name", default="")
    create.set_defaults(handler=user_create_command)
    token = user.add_parser("token", help="issue an API token and print it (shown once)")
    token.add_argument("username")
    token.add_argument("--label", default="cli")
    token.set_defaults(handler=user_token_command)


def org_list_command(args: argparse.Namespace) -> int:
    with session_scope() as session:
        for org in accounts.list_orgs(session):
            sys.stdout.write(f"{org.code}\t{org.type}\t{org.name}\n")
    return 0


def org_create_command(args: argparse.Namespace) -> int:
    try:
        with session_scope() as session:
            org = accounts.create_org(
                session,
                code=args.code,
                org_type=OrgType(args.type),
                name=args.name,
                township_code=args.township,
            )
            line = f"created {org.code}\t{org.type}\t{org.name}\n"
    except EngineError as exc:
        details = "".join(f"; {field}: {text}" for field, text in exc_fields(exc))
        sys.stderr.write(f"error: {exc.message}{details}\n")
        return 1
    sys.stdout.write(line)
    return 0


def exc_fields(exc: EngineError) -> list[tuple[str, str]]:
    """The field errors an engine error carries, if any."""
    fields = getattr(exc, "field_errors", None) or {}
    return [(str(k), str(v)) for k, v in fields.items()]


def user_create_command(args: argparse.Namespace) -> int:
    try:
        with session_scope() as session:
            user, generated = accounts.create_user(
                session,
                username=args.username,
                org_code=args.org,
                role=Role(args.role),
                password=args.password,
                display_name=args.display_name,
            )
            username = user.username
    except EngineError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 1
    sys.stdout.write(f"created {username}\n")
    if generated is not None:
        sys.stdout.write(f"password: {generated}\n")
    return 0


def user_token_command(args: argparse.Namespace) -> int:
    with session_scope() as session:
        user = accounts.find_user(session, args.username)
        if user is None:
            sys.stderr.write(f"error: no user {args.username}\n")
            return 1
        token = accounts.issue_api_token(session, user, args.label)
    sys.stdout.write(f"{token}\n")
    return 0
