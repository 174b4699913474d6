"""Dependencies the routers declare: the workspace of the running app."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from ghostcandle.web.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    """Return the app's workspace (created in the lifespan)."""
    return cast(Workspace, request.app.state.workspace)


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
