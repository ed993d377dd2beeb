"""What every pane is given: the presenter switch and the window's task keeper.

Panes show the selected connection through ``set_session(session | None)`` and release their
work in ``aclose()``; that is the whole contract between the window and a pane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from app.ui.presenter import Presenter
from app.ui.tasks import TaskKeeper

if TYPE_CHECKING:  # only named in hints: the session brings httpx (startup time)
    from app.services.session import PbxSession


@dataclass(frozen=True)
class UiContext:
    presenter: Presenter
    tasks: TaskKeeper


class SessionPane(Protocol):
    def set_session(self, session: PbxSession | None) -> None:
        """Show this connection (None: nothing selected). Must return at once: start tasks."""
        ...

    async def aclose(self) -> None:
        """Stop this pane's background work (the window awaits it on close)."""
        ...
