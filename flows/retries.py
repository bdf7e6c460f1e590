"""Judgement for failures: what is worth retrying, and one GPU model load per machine at a time."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

from narration.errors import InputError, is_out_of_space

log = logging.getLogger(__name__)


def worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry_condition_fn: an engine or I/O failure may pass (a worker that died,
    a full GPU, a network share that blinked); an input error would only fail again."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception:  # the result could not be read back: let Prefect's policy decide
        return True
    return not isinstance(error, InputError) and not is_out_of_space(error)


def device_slot_name() -> str:
    return f"narration-gpu-{socket.gethostname()}"


def _ensure_limit(name: str) -> None:
    """Create the machine's GPU slot (a global concurrency limit of 1) unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):  # another flow made it meanwhile
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )


@contextlib.contextmanager
def device_slot(job: Any) -> Iterator[None]:
    """Hold this machine's GPU slot while a job that uses a device engine renders, so two
    flows on one machine never load GPU models at once (strict: no slot, no rendering)."""
    if not any(engine.placement == "device" for engine in job.used_engines()):
        yield
        return
    from prefect.concurrency.sync import concurrency

    name = device_slot_name()
    _ensure_limit(name)
    with concurrency(name, occupy=1, strict=True):
        yield
