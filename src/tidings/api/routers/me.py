from ninja import Router, Schema

from ..errors import ErrorOut
from ..permissions import ANY_MEMBER, requires

router = Router(tags=["me"])


class MeOut(Schema):
    workspace: str
    workspace_name: str
    email: str
    name: str
    role: str
    store_id: int | None
    token_name: str


@router.get("/me", response={200: MeOut, 401: ErrorOut, 403: ErrorOut}, summary="Who this token acts as")
@requires(ANY_MEMBER)
def me(request):
    token = request.auth
    membership = token.membership
    return {
        "workspace": token.workspace.slug,
        "workspace_name": token.workspace.name,
        "email": membership.user.email,
        "name": membership.user.name,
        "role": membership.role,
        "store_id": membership.store_id,
        "token_name": token.name,
    }
