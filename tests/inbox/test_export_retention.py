"""Conversation exports lose their files FILE_RETENTION_DAYS after they finished; the row and counts stay."""

import datetime

import pytest
from django.core.files.storage import default_storage

from tidings.contacts.models import JobStatus
from tidings.core.errors import NotFound
from tidings.core.roles import Role
from tidings.inbox.exports import export_open
from tidings.inbox.retention import conversation_export_files_expire

from .test_exports import at, conversation, line, message, run  # noqa: F401 (the line fixture)

pytestmark = pytest.mark.django_db


def test_both_files_go_after_the_retention_and_the_export_says_when(workspace, make_member, line,  # noqa: F811
                                                                    settings):
    settings.FILE_RETENTION_DAYS = 3
    message(conversation(workspace, line), at(9), "你好")
    export = run(make_member(workspace, Role.CS_MANAGER))
    names = [export.messages_file.name, export.summary_file.name]
    assert all(default_storage.exists(name) for name in names)

    assert conversation_export_files_expire(now=export.finished_at + datetime.timedelta(days=2)) == 0
    later = export.finished_at + datetime.timedelta(days=3, minutes=1)
    assert conversation_export_files_expire(now=later) == 1
    export.refresh_from_db()
    assert not any(default_storage.exists(name) for name in names)
    assert (export.status, export.total_rows, export.expired_at) == (JobStatus.DONE, 1, later)
    with pytest.raises(NotFound):
        export_open(export=export, part="messages")
    assert conversation_export_files_expire(now=later + datetime.timedelta(days=9)) == 0
