"""Settings: one frozen dataclass, and the only module that reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("instance") / "xietong.db"
SCRIPT_ISOLATION_MODES = ("uploaded", "all", "none")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the embedded defaults a county IT officer gets."""

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    workflows_dir: Path = Path("workflows")
    secret_key: str = "dev-only-secret-change-me"  # noqa: S105 - documented: set XIETONG_SECRET_KEY
    # Wall-clock budget for one BPMN script or condition evaluation (CPU-bomb guard).
    script_time_budget_seconds: float = 2.0
    # Wall-clock budget for the engine tasks of one step (a BPMN loop that never waits).
    step_time_budget_seconds: float = 30.0
    # Timers may wait at most this long (durations and dates); beyond it is a model error.
    timer_horizon_years: int = 10
    # Most children one multi-instance task may have (cardinality or collection length).
    max_multi_instance: int = 1000
    # Where BPMN code runs: "uploaded" (models uploaded through the web or API run in worker
    # processes with OS limits, reviewed folders in the server), "all", or "none".
    script_isolation: str = "uploaded"
    # Address-space limit of one script worker process.
    script_memory_mb: int = 512
    # DOMAIN.md T6: the 3-day periods of State Council Decree 310 count as calendar or working days.
    transfer_rule_3d_mode: str = "cd"
    timer_poll_seconds: int = 5
    flag_poll_seconds: int = 60
    default_stall_hours: int = 72
    # Scheduler jobs read and handle their candidates this many at a time (never all at once).
    job_batch_size: int = 500
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "xietong@localhost"
    run_scheduler_in_process: bool = True
    # Scheduler leadership (engine.monitoring.lease): a standby takes over a leader that has not
    # renewed its lease for lease seconds; the heartbeat must be at most half of the lease.
    scheduler_lease_seconds: float = 20.0
    scheduler_heartbeat_seconds: float = 5.0
    scheduler_standby_poll_seconds: float = 5.0
    # `xietong scheduler` exits with status 1 when the database stays unreachable this long.
    scheduler_give_up_seconds: float = 300.0
    # A login lasts at most session_hours, and ends after session_idle_minutes without a page.
    session_hours: int = 12
    session_idle_minutes: int = 60
    # Send the session cookie only over HTTPS (set it when the site is served over TLS).
    secure_cookies: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    """A setting with a fixed set of values: a typo must not silently pick the weakest."""
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _env_bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from XIETONG_* environment variables."""
    env = dict(os.environ if environ is None else environ)
    base = Settings()
    return Settings(
        database_url=env.get("XIETONG_DATABASE_URL", base.database_url),
        workflows_dir=Path(env.get("XIETONG_WORKFLOWS_DIR", str(base.workflows_dir))),
        secret_key=env.get("XIETONG_SECRET_KEY", base.secret_key),
        script_time_budget_seconds=float(
            env.get("XIETONG_SCRIPT_TIME_BUDGET", base.script_time_budget_seconds)
        ),
        step_time_budget_seconds=float(
            env.get("XIETONG_STEP_TIME_BUDGET", base.step_time_budget_seconds)
        ),
        timer_horizon_years=int(env.get("XIETONG_TIMER_HORIZON_YEARS", base.timer_horizon_years)),
        max_multi_instance=int(env.get("XIETONG_MAX_MULTI_INSTANCE", base.max_multi_instance)),
        script_isolation=_choice(
            env.get("XIETONG_SCRIPT_ISOLATION", base.script_isolation), SCRIPT_ISOLATION_MODES
        ),
        script_memory_mb=int(env.get("XIETONG_SCRIPT_MEMORY_MB", base.script_memory_mb)),
        transfer_rule_3d_mode=env.get("XIETONG_TRANSFER_3D_MODE", base.transfer_rule_3d_mode),
        timer_poll_seconds=int(env.get("XIETONG_TIMER_POLL_SECONDS", base.timer_poll_seconds)),
        flag_poll_seconds=int(env.get("XIETONG_FLAG_POLL_SECONDS", base.flag_poll_seconds)),
        default_stall_hours=int(env.get("XIETONG_STALL_HOURS", base.default_stall_hours)),
        job_batch_size=int(env.get("XIETONG_JOB_BATCH_SIZE", base.job_batch_size)),
        smtp_host=env.get("XIETONG_SMTP_HOST") or None,
        smtp_port=int(env.get("XIETONG_SMTP_PORT", base.smtp_port)),
        smtp_sender=env.get("XIETONG_SMTP_SENDER", base.smtp_sender),
        run_scheduler_in_process=_env_bool(env.get("XIETONG_IN_PROCESS_SCHEDULER"), True),
        scheduler_lease_seconds=float(
            env.get("XIETONG_SCHEDULER_LEASE_SECONDS", base.scheduler_lease_seconds)
        ),
        scheduler_heartbeat_seconds=float(
            env.get("XIETONG_SCHEDULER_HEARTBEAT_SECONDS", base.scheduler_heartbeat_seconds)
        ),
        scheduler_standby_poll_seconds=float(
            env.get("XIETONG_SCHEDULER_STANDBY_POLL_SECONDS", base.scheduler_standby_poll_seconds)
        ),
        scheduler_give_up_seconds=float(
            env.get("XIETONG_SCHEDULER_GIVE_UP_SECONDS", base.scheduler_give_up_seconds)
        ),
        session_hours=int(env.get("XIETONG_SESSION_HOURS", base.session_hours)),
        session_idle_minutes=int(
            env.get("XIETONG_SESSION_IDLE_MINUTES", base.session_idle_minutes)
        ),
        secure_cookies=_env_bool(env.get("XIETONG_SECURE_COOKIES"), base.secure_cookies),
    )
