"""Deployments on a Prefect server: the nightly library scan, and a book's fan-out pair.

Entry points are module paths (`flows.library.narrate_library`): narration is installed on
every worker, so a process worker imports the flow from the package itself, with no code
storage to pull and no image to build. prefect.yaml declares the same deployments for
`prefect deploy --all`.
"""

from __future__ import annotations

from typing import Any

DEPLOYMENT = "pool"


def _ensure_pool(name: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
            return f"work pool {name!r} ({pool.type}) exists"
        except ObjectNotFound:
            try:
                client.create_work_pool(WorkPoolCreate(name=name, type="process"))
            except ObjectAlreadyExists:
                return f"work pool {name!r} exists"
            return f"work pool {name!r} (process) created"


def create_deployments(
    pool: str, cron: str, parameters: dict[str, Any], *, fan_out: bool = True
) -> list[str]:
    """Create or update the deployments; returns lines saying what was done."""
    from prefect.deployments.runner import deploy
    from prefect.types.entrypoint import EntrypointType

    from flows.library import narrate_library
    from flows.narrate import narrate_book, narrate_chapter_flow

    lines = [_ensure_pool(pool)]
    chapter = f"{narrate_chapter_flow.name}/{DEPLOYMENT}" if fan_out else None
    module = EntrypointType.MODULE_PATH
    deployments = [
        narrate_library.to_deployment(
            "nightly",
            cron=cron,
            parameters={**parameters, "chapter_deployment": chapter},
            entrypoint_type=module,
            description="Narrate every new or changed book in the inbox.",
        ),
        narrate_book.to_deployment(
            DEPLOYMENT,
            parameters={"settings": parameters["settings"], "chapter_deployment": chapter},
            entrypoint_type=module,
            description="Narrate one book (parameter: book).",
        ),
        narrate_chapter_flow.to_deployment(
            DEPLOYMENT, entrypoint_type=module, description="One chapter of a planned book."
        ),
    ]
    deploy(
        *deployments,
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    lines += [f"deployment {d.flow_name}/{d.name} in pool {pool!r}" for d in deployments]
    lines.append(f"schedule: narrate-library/nightly at {cron!r}")
    lines.append(f"start workers on every machine: prefect worker start --pool {pool}")
    return lines
