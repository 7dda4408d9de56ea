"""sendMessageDraft in the fake Bot API: drafts are recorded, never stored as messages (mixin for MethodHandlers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.botapi_records import bad_request
from tests.fakes.botapi_request import Request
from tests.fakes.botapi_world import World


@dataclass(frozen=True)
class Draft:
    """One sendMessageDraft the fake accepted: the text shown (after entity parsing) and when."""

    chat_id: int
    draft_id: int
    text: str
    params: dict[str, Any]
    ts: float


class DraftMethods:
    """Mixin for MethodHandlers: sendMessageDraft for private chats, with a non-zero draft_id."""

    world: World

    def _send_message_draft(self, request: Request) -> Any:
        """sendMessageDraft: an ephemeral preview in a private chat; returns True."""
        state = self.world.chat_for(request.params.get("chat_id"))
        if state.chat.get("type") != "private":
            raise bad_request("message drafts can be sent only to private chats", "state")
        draft_id = int(request.params["draft_id"])
        if draft_id == 0:
            raise bad_request("draft_id must be non-zero", "limit")
        parsed = request.parsed.get("text")
        text = parsed.text if parsed is not None else str(request.params.get("text", ""))
        self.world.drafts.append(Draft(state.chat["id"], draft_id, text, dict(request.params), request.ts))
        return True
