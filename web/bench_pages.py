"""Server-side page timings for `xietong bench --scale` (engine.demo.scale_bench).

Each page is requested through the Flask test client, signed in as the probe's user, so the
figures are the application's own time: routing, queries and rendering, without a network.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime

from flask.testing import FlaskClient

from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo import scale_bench
from engine.demo.scale_bench import PageProbe
from engine.demo.scale_bench import Timing
from engine.models import User
from engine.people import sessions
from engine.settings import Settings
from web import create_app
from web.auth import SESSION_ID_KEY

NEXT_LINK = re.compile(r'rel="next" href="([^"]+)"')


def _path(client: FlaskClient, probe: PageProbe, headers: dict[str, str]) -> str:
    if not probe.follow_next:
        return probe.path
    page = client.get(probe.path, headers=headers).get_data(as_text=True)
    found = NEXT_LINK.search(page)
    if found is None:
        raise RuntimeError(f"{probe.path} has no next page")
    return found.group(1).replace("&amp;", "&")


def time_pages(settings: Settings, probes: Sequence[PageProbe], rounds: int) -> list[Timing]:
    """p50/p95 and size of each probe's page over `rounds` requests (after one warm-up)."""
    client = create_app(settings).test_client()
    timings = []
    factory = make_session_factory(make_engine(settings))
    for probe in probes:
        with factory.begin() as db:
            user = db.get(User, probe.user_id)
            assert user is not None  # noqa: S101 - the probes name seeded users
            session_id = sessions.start_session(db, user, now=datetime.now(UTC), settings=settings)
        with client.session_transaction() as session:
            session.clear()
            session[SESSION_ID_KEY] = session_id
        headers = {"Authorization": f"Bearer {probe.bearer}"} if probe.bearer else {}
        path = _path(client, probe, headers)
        first = client.get(path, headers=headers)
        if first.status_code != 200:
            raise RuntimeError(f"{path} answered {first.status_code}")
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            client.get(path, headers=headers)
            samples.append(time.perf_counter() - started)
        timings.append(Timing(probe.name, samples, len(first.data)))
    return timings


def run_scale_bench(*, database_url: str | None, scale: int, rounds: int) -> str:
    """`xietong bench --scale`: engine.demo.scale_bench with this module's page timer."""
    return scale_bench.run_scale(
        database_url=database_url, scale=scale, rounds=rounds, page_timer=time_pages
    )
