"""FastAPI dependencies shared by the command routers."""

from typing import Annotated, Protocol

from fastapi import Depends, Header, Request, Response

from commands.errors import NotAuthenticated
from commands.services import Services

POSITION_HEADER = "X-Ledger-Position"


class AdminKeyVerifier(Protocol):
    def verify(self, presented: str) -> str | None:
        """The key's id when ``presented`` is a valid, unrevoked admin key."""
        ...


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The admin key's id, or 401."""
    verifier: AdminKeyVerifier = request.app.state.admin_keys
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise NotAuthenticated("An admin key is required: Authorization: Bearer <key>.")
    key_id = verifier.verify(presented.strip())
    if key_id is None:
        raise NotAuthenticated("The admin key is not valid.")
    return key_id


ServicesDep = Annotated[Services, Depends(get_services)]
AdminKeyId = Annotated[str, Depends(require_admin)]


def tell_position(response: Response, position: int | None) -> None:
    """Let the client wait for its own write in a view (``?min_position=``)."""
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)
