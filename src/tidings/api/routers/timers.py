import datetime

from ninja import Query, Router, Schema

from tidings.core.permissions import Permission
from tidings.timers.selectors import pending_timers

from ..errors import COMMON_ERRORS
from ..pagination import PageParams, page_of, paginate
from ..permissions import requires

router = Router(tags=["timers"])


class TimerOut(Schema):
    id: int
    kind: str
    key: str
    due_at: datetime.datetime
    state: str
    attempts: int
    payload: dict


TimerPage = page_of(TimerOut)


@router.get("/timers", response={200: TimerPage, **COMMON_ERRORS}, summary="Pending timers, soonest first")
@requires(Permission.TIMERS_VIEW)
def list_timers(request, page: Query[PageParams]):
    return paginate(pending_timers(request.auth.workspace), page)
