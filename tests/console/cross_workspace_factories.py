"""Objects for the cross-workspace isolation test that console-only routes take: contact imports and exports.

Each is a finished job with a real file, so a route that forgot its workspace check would act on it (start the
import, serve the download) instead of answering 404.
"""

import itertools

from tests.support.cross_workspace import register_object_factory

_seq = itertools.count(1)


def make_contact_import(workspace):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tidings.contacts.models import ContactImport, JobStatus

    name = default_storage.save(f"imports/xws/{workspace.pk}-{next(_seq)}.csv",
                                ContentFile("name,phone\nXWS,+85261234567\n".encode()))
    return ContactImport.objects.create(workspace=workspace, file=name, file_name="xws.csv",
                                        mapping={"name": "name", "phone": "phone"}, dry_run=True,
                                        status=JobStatus.DONE, total_rows=1, processed_rows=1, created_count=1,
                                        errors=[{"row": 2, "column": "phone", "field": "phone", "message": "XWS"}])


def make_contact_export(workspace):
    from django.core.files.base import ContentFile

    from tidings.contacts.models import ContactExport, JobStatus

    export = ContactExport(workspace=workspace, format="csv", language="en", status=JobStatus.DONE, total_rows=1,
                           processed_rows=1)
    export.file.save(f"xws-{next(_seq)}.csv", ContentFile(b"\xef\xbb\xbfName\nXWS\n"), save=False)
    export.save()
    return export


register_object_factory("import_id", make_contact_import)
register_object_factory("export_id", make_contact_export)
