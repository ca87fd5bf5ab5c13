"""Settings for the control plane, read once from the environment (``CLOUDMICRO_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

ExecutorKind = Literal["auto", "docker", "process"]
WatchKind = Literal["auto", "events", "poll", "off"]

DEFAULT_PORT = 4566


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CLOUDMICRO_{name}", default)


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def default_max_starting() -> int:
    """Cold starts at once: two per core (a start is partly waiting on the Docker engine)."""
    return max(2, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    """Everything the control plane needs to know; built by :meth:`from_env`."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    project_dir: Path = field(default_factory=Path.cwd)
    functions_dir: Path = Path("functions")
    state_dir: Path = Path(".cloudmicro")
    executor: ExecutorKind = "auto"
    region: str = "us-east-1"
    account_id: str = "123456789012"
    #: idle seconds after which a warm environment is reaped
    idle_timeout: float = 600.0
    #: environments one function may have at once when it has no reserved concurrency
    max_environments_per_function: int = 32
    #: environments that may initialise at once, machine-wide (emulator/invocation/pool.py)
    max_starting: int = field(default_factory=lambda: default_max_starting())
    #: base image of the Python runtime image (a build argument of runtimes/python/Dockerfile)
    base_image: str = "python:3.11-slim-bookworm"
    #: base image built offline (debootstrap) when ``base_image`` cannot be pulled
    offline_base_image: str = "cloudmicro/base:bookworm"
    #: an external moto server (e.g. the compose stack's); None runs moto embedded
    moto_url: str | None = None
    #: where db_gen/tables and db_gen/table_data are
    db_gen_dir: Path = Path("db_gen")
    #: create and seed the db_gen tables when the control plane starts
    seed_on_start: bool = True
    #: apply emulator/moto/sqs_speed.py (the SQS hot path) to the embedded moto
    moto_patches: bool = True
    #: write every function's log to CloudWatch Logs (``/aws/lambda/<name>``, one stream per
    #: environment), in the background; ``CLOUDMICRO_CLOUDWATCH_LOGS=false`` turns it off
    cloudwatch_logs: bool = True
    #: seconds before the first retry of a failed asynchronous event (the second waits twice
    #: as long); AWS waits about 60 s, which is slow for a local loop
    async_retry_delay: float = 1.0
    #: hot reload: how function folders are watched (emulator/reload/watcher.py);
    #: ``auto`` is file events, or polling where they do not arrive; ``off`` turns it off
    watch: WatchKind = "auto"
    #: where installed requirements.txt packages are cached (None: ``<state_dir>/deps``)
    deps_dir: Path | None = None
    #: names besides localhost, *.localhost and IP addresses that requests may use as Host
    allowed_hosts: tuple[str, ...] = ()
    #: origins besides localhost and loopback ones whose pages may call the endpoint (CORS)
    cors_origins: tuple[str, ...] = ()
    #: folders besides the project's whose code (hot-reload functions, layers) may be used
    code_roots: tuple[Path, ...] = ()
    #: the admin routes' token (None: one is made and written to ``<state_dir>/admin-token``)
    admin_token: str | None = None
    #: the network function containers join: ``host`` (the host's: they reach the control
    #: plane's loopback ports), or ``container:self`` (the network of the container the control
    #: plane runs in: the compose stack's)
    function_network: str = "host"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from ``CLOUDMICRO_*`` variables; keyword overrides win."""
        project = Path(_env("PROJECT_DIR", str(Path.cwd()))).resolve()
        settings = cls(
            host=_env("HOST", "127.0.0.1"),
            port=int(_env("PORT", str(DEFAULT_PORT))),
            project_dir=project,
            functions_dir=Path(_env("FUNCTIONS_DIR", str(project / "functions"))),
            state_dir=Path(_env("STATE_DIR", str(project / ".cloudmicro"))),
            executor=_env("EXECUTOR", "auto"),  # type: ignore[arg-type]
            region=_env("REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
            account_id=_env("ACCOUNT_ID", "123456789012"),
            idle_timeout=float(_env("IDLE_TIMEOUT", "600")),
            max_environments_per_function=int(_env("MAX_ENVIRONMENTS", "32")),
            max_starting=int(_env("MAX_STARTING", str(default_max_starting()))),
            base_image=_env("BASE_IMAGE", "python:3.11-slim-bookworm"),
            offline_base_image=_env("OFFLINE_BASE_IMAGE", "cloudmicro/base:bookworm"),
            moto_url=_env("MOTO_URL", "") or None,
            db_gen_dir=Path(_env("DB_GEN_DIR", str(project / "db_gen"))),
            seed_on_start=_env("SEED_ON_START", "true").lower() not in ("0", "false", "no"),
            moto_patches=_env("MOTO_PATCHES", "true").lower() not in ("0", "false", "no"),
            cloudwatch_logs=_env("CLOUDWATCH_LOGS", "true").lower() not in ("0", "false", "no"),
            async_retry_delay=float(_env("ASYNC_RETRY_DELAY", "1")),
            watch=_env("WATCH", "auto").lower(),  # type: ignore[arg-type]
            deps_dir=Path(_env("DEPS_DIR", "")) if _env("DEPS_DIR", "") else None,
            allowed_hosts=_list(_env("ALLOWED_HOSTS", "")),
            cors_origins=_list(_env("CORS_ORIGINS", "")),
            admin_token=_env("ADMIN_TOKEN", "") or None,
            code_roots=tuple(Path(p).resolve() for p in _list(_env("CODE_ROOTS", ""))),
            function_network=_env("FUNCTION_NETWORK", "host"),
        )
        clean = {k: v for k, v in overrides.items() if v is not None}
        settings = replace(settings, **clean)  # type: ignore[arg-type]
        if settings.executor not in ("auto", "docker", "process"):
            raise ValueError(f"executor must be auto, docker or process, not {settings.executor!r}")
        if settings.max_starting < 1:
            raise ValueError(f"CLOUDMICRO_MAX_STARTING must be at least 1, not {settings.max_starting}")
        if settings.function_network not in ("host", "container:self"):
            raise ValueError("CLOUDMICRO_FUNCTION_NETWORK must be host or container:self, "
                             f"not {settings.function_network!r}")
        if settings.watch not in ("auto", "events", "poll", "off"):
            raise ValueError(f"CLOUDMICRO_WATCH must be auto, events, poll or off, not {settings.watch!r}")
        return settings

    def to_env(self) -> dict[str, str]:
        """The ``CLOUDMICRO_*`` variables :meth:`from_env` reads back as these settings (how a
        control plane in another process, e.g. the pytest plugin's, gets them)."""
        values: dict[str, object] = {
            "HOST": self.host, "PORT": self.port, "PROJECT_DIR": self.project_dir,
            "FUNCTIONS_DIR": self.functions_dir, "STATE_DIR": self.state_dir, "EXECUTOR": self.executor,
            "REGION": self.region, "ACCOUNT_ID": self.account_id, "IDLE_TIMEOUT": self.idle_timeout,
            "MAX_ENVIRONMENTS": self.max_environments_per_function, "MAX_STARTING": self.max_starting,
            "BASE_IMAGE": self.base_image, "OFFLINE_BASE_IMAGE": self.offline_base_image,
            "MOTO_URL": self.moto_url or "", "DB_GEN_DIR": self.db_gen_dir,
            "SEED_ON_START": self.seed_on_start, "MOTO_PATCHES": self.moto_patches,
            "CLOUDWATCH_LOGS": self.cloudwatch_logs, "ASYNC_RETRY_DELAY": self.async_retry_delay,
            "WATCH": self.watch, "DEPS_DIR": self.deps_dir or "",
            "ALLOWED_HOSTS": ",".join(self.allowed_hosts), "CORS_ORIGINS": ",".join(self.cors_origins),
            "ADMIN_TOKEN": self.admin_token or "", "CODE_ROOTS": ",".join(str(p) for p in self.code_roots),
            "FUNCTION_NETWORK": self.function_network,
        }
        return {f"CLOUDMICRO_{k}": (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()}

    @property
    def dependencies_dir(self) -> Path:
        return (self.deps_dir or self.state_dir / "deps").resolve()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def function_endpoint(self) -> str:
        """The endpoint as functions reach it (over loopback: they share the host's network)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"
