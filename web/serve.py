"""`xietong serve` and `xietong demo`: the production WSGI server (waitress) with the app."""

from __future__ import annotations

import argparse
import logging
import sys

from waitress import serve as waitress_serve

from engine import migrate
from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo import seed as demo
from engine.monitoring.runtime import start_background_jobs
from engine.settings import Settings
from engine.settings import load_settings
from web import create_app

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the web app with waitress (production server)")
    _server_arguments(serve, default_host="127.0.0.1")
    serve.set_defaults(handler=run_serve)
    demo_parser = sub.add_parser("demo", help="create, deploy and seed a demo database, then serve")
    _server_arguments(demo_parser, default_host="127.0.0.1")
    demo_parser.set_defaults(handler=run_demo)


def _server_arguments(parser: argparse.ArgumentParser, *, default_host: str) -> None:
    parser.add_argument("--host", default=default_host)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--no-scheduler", action="store_true", help="do not run the scheduler in this process"
    )


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    engine = make_engine(settings)
    if settings.run_scheduler_in_process and not args.no_scheduler:
        start_background_jobs(settings, engine)
    app = create_app(settings, session_factory=make_session_factory(engine))
    logger.info("serving on http://%s:%s/", args.host, args.port)
    waitress_serve(app, host=args.host, port=args.port, threads=args.threads, ident="xietong")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    return _serve(load_settings(), args)


def run_demo(args: argparse.Namespace) -> int:
    settings = load_settings()
    migrate.upgrade(settings)
    logins = demo.prepare(settings)
    sys.stdout.write(f"\n协同 Xietong demo: http://{args.host}:{args.port}/\n")
    sys.stdout.write("演示账号 demo logins (username / password / who):\n")
    for username, password, description in logins:
        sys.stdout.write(f"  {username:<22} {password:<12} {description}\n")
    sys.stdout.flush()
    return _serve(settings, args)
