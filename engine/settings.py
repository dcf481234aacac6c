"""Settings: one frozen dataclass, and the only module that reads os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("instance") / "xietong.db"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the embedded defaults a county IT officer gets."""

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    workflows_dir: Path = Path("workflows")
    secret_key: str = "dev-only-secret-change-me"  # noqa: S105 - documented: set XIETONG_SECRET_KEY
    # Wall-clock budget for one BPMN script or condition evaluation (CPU-bomb guard).
    script_time_budget_seconds: float = 2.0
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
    extra: dict[str, str] = field(default_factory=dict)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]


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
        transfer_rule_3d_mode=env.get("XIETONG_TRANSFER_3D_MODE", base.transfer_rule_3d_mode),
        timer_poll_seconds=int(env.get("XIETONG_TIMER_POLL_SECONDS", base.timer_poll_seconds)),
        flag_poll_seconds=int(env.get("XIETONG_FLAG_POLL_SECONDS", base.flag_poll_seconds)),
        default_stall_hours=int(env.get("XIETONG_STALL_HOURS", base.default_stall_hours)),
        job_batch_size=int(env.get("XIETONG_JOB_BATCH_SIZE", base.job_batch_size)),
        smtp_host=env.get("XIETONG_SMTP_HOST") or None,
        smtp_port=int(env.get("XIETONG_SMTP_PORT", base.smtp_port)),
        smtp_sender=env.get("XIETONG_SMTP_SENDER", base.smtp_sender),
        run_scheduler_in_process=_env_bool(env.get("XIETONG_IN_PROCESS_SCHEDULER"), True),
    )
