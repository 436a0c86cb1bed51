"""Contact import (SPEC D4): upload a CSV or XLSX, map its columns, preview, dry-run, then upsert in the background.

Flow: `import_upload_store` keeps the uploaded file and reads its header; the console carries a signed token for it
(`import_upload_token` / `import_upload_load`) through the mapping step and the preview (`import_preview`);
`contact_import_start` records the job and enqueues `tasks.contact_import_task`, which calls `contact_import_run`.
A dry run validates and matches every row exactly like the real run, and writes nothing but its own progress.

Rows are written in chunks: every row of a chunk is cleaned first (a row with any error is left out whole, so a
failed row changes nothing), the rest are matched and written with a few bulk statements in one transaction
together with the job's progress. A chunk whose bulk write fails is retried one row per transaction, so one bad row
cannot take its neighbours down. After a crash the job resumes after the last committed chunk.

Matching: member id first, then phone (E.164), then email; the earliest live contact wins. Empty cells never clear
anything; tags are only added.
"""

import dataclasses
import itertools
import logging
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tidings.core import clock
from tidings.core.bulk import rows_update
from tidings.core.errors import NotFound, ServiceError
from tidings.core.models import Workspace
from tidings.core.services import audit_record
from tidings.core.tasking import enqueue_on_commit

from .attributes import attribute_value
from .models import Contact, ContactImport, ContactTag, CustomAttribute, JobStatus, Tag
from .services import MEMBER_ID_MAX, NAME_MAX, email_normalize, phone_normalize, tag_names_clean
from .tabular import MAX_FILE_BYTES, MAX_ROWS, table_count, table_open

logger = logging.getLogger(__name__)

CHUNK = 1000  # rows cleaned, matched and written together
MAX_ERRORS = 5000  # row errors kept on the job (all are counted)
PREVIEW_ROWS = 5
UPLOAD_MAX_AGE = 24 * 3600  # seconds a mapping step may take before the upload must be sent again
KEY_TARGETS = ("member_id", "phone", "email")
FIELD_TARGETS = ("name", "phone", "email", "member_id", "tags")
ATTR = "attr:"
TAG_SEPARATORS = (",", "，", "、", ";", "；", "\n")

FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"),
    "member_id": gettext_lazy("Member id"),
    "tags": gettext_lazy("Tags"),
}
# Header names recognised in any language, besides the labels above in every console language (so an export
# imports back with its columns already mapped). Compared after _squash().
SYNONYMS = {
    "name": {"name", "fullname", "customer", "customername", "contactname", "姓名", "名字", "名稱", "名称", "客戶名稱",
             "客户名称", "顧客名稱", "顾客名称", "顧客姓名", "客戶姓名", "客户姓名", "聯絡人", "联系人"},
    "phone": {"phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cellphone", "cell", "tel",
              "telephone", "whatsapp", "電話", "手機", "手機號碼", "電話號碼", "行動電話", "聯絡電話", "手提電話",
              "电话", "手机", "手机号码", "电话号码", "联系电话", "手机号"},
    "email": {"email", "emailaddress", "mail", "電子郵件", "電郵", "郵件", "電子信箱", "信箱", "電子郵件地址",
              "电子邮件", "邮箱", "电邮", "邮件", "电子邮箱"},
    "member_id": {"memberid", "membernumber", "memberno", "membercode", "customerid", "customerno", "shopifyid",
                  "會員編號", "會員id", "會員號碼", "會員代號", "會員卡號", "客戶編號", "顧客編號", "会员编号", "会员id",
                  "会员号码", "会员号", "会员卡号", "客户编号", "顾客编号"},
    "tags": {"tags", "tag", "label", "labels", "標籤", "标签", "標簽"},
}


def _squash(text: str) -> str:
    """Header text compared loosely: case, spaces, dashes, underscores and punctuation do not matter."""
    return "".join(ch for ch in str(text).casefold() if ch.isalnum())


def target_choices(workspace: Workspace, attributes=None) -> list[tuple[str, str]]:
    """What a column can be imported as: the contact fields, then each custom attribute by name."""
    attributes = attributes if attributes is not None else _attributes(workspace).values()
    return ([(key, str(label)) for key, label in FIELD_LABELS.items()]
            + [(f"{ATTR}{a.key}", a.name) for a in sorted(attributes, key=lambda a: a.name)])


def target_label(target: str, attributes: dict) -> str:
    if target.startswith(ATTR):
        definition = attributes.get(target[len(ATTR):])
        return definition.name if definition else target[len(ATTR):]
    return str(FIELD_LABELS.get(target, target))


def _attributes(workspace: Workspace) -> dict[str, CustomAttribute]:
    return {a.key: a for a in CustomAttribute.objects.for_workspace(workspace)}


def _known_headers() -> dict[str, str]:
    known = {word: target for target, words in SYNONYMS.items() for word in words}
    from .exports import COLUMN_LABELS  # the export's own headers, so an exported file maps itself

    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for target, label in [*FIELD_LABELS.items(), *COLUMN_LABELS.items()]:
                if target in FIELD_TARGETS:
                    known.setdefault(_squash(str(label)), target)
    return known


def mapping_suggest(workspace: Workspace, headers: list[str]) -> dict[str, str]:
    """A first mapping from the header names (English and Chinese), each target used once; unknown columns skipped."""
    known = _known_headers()
    by_attribute = {}
    for definition in _attributes(workspace).values():
        by_attribute.setdefault(_squash(definition.key), f"{ATTR}{definition.key}")
        by_attribute.setdefault(_squash(definition.name), f"{ATTR}{definition.key}")
    mapping, used = {}, set()
    for header in headers:
        squashed = _squash(header)
        target = by_attribute.get(squashed) or known.get(squashed, "")
        if target and (target not in used or target == "tags"):
            mapping[header] = target
            used.add(target)
        else:
            mapping[header] = ""
    return mapping


def mapping_clean(*, workspace: Workspace, headers: list[str], mapping: dict, attributes=None) -> dict[str, str]:
    """The mapping checked against the file's columns and the workspace's attributes (ServiceError on "mapping")."""
    attributes = attributes if attributes is not None else _attributes(workspace)
    if not isinstance(mapping, dict):
        raise ServiceError(_("Choose what each column is."), field="mapping")
    clean, seen = {}, {}
    for header in headers:
        target = str(mapping.get(header) or "").strip()
        if target and target not in FIELD_TARGETS:
            if not target.startswith(ATTR) or target[len(ATTR):] not in attributes:
                raise ServiceError(_("Column “%(column)s”: there is no such field or custom attribute. Choose "
                                     "another or skip the column.") % {"column": header}, field="mapping")
        if target and target != "tags" and target in seen:
            raise ServiceError(_("Columns “%(first)s” and “%(second)s” are both mapped to %(target)s; a field can "
                                 "come from one column only.") % {
                "first": seen[target], "second": header, "target": target_label(target, attributes)},
                field="mapping")
        seen.setdefault(target, header)
        clean[header] = target
    if not any(t in seen for t in KEY_TARGETS):
        raise ServiceError(_("Map a column to member id, phone or email: each row is matched to an existing contact "
                             "by them (member id first), or creates a new one."), field="mapping")
    return clean


# --- cleaning rows -------------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class CleanRow:
    row: int
    values: dict  # target → cleaned value ("" / None / [] when the cell was empty)
    errors: list  # [{"row", "column", "field", "message"}]
    shown: dict  # column header → the cleaned value, or the cell as typed when it has an error


class RowCleaner:
    """Checks and normalises rows as mapped. The attribute definitions are read once, not once per row."""

    def __init__(self, workspace: Workspace, headers: list[str], mapping: dict, attributes: dict):
        self.workspace = workspace
        self.attributes = attributes
        self.columns = [(i, h, mapping[h]) for i, h in enumerate(headers) if mapping.get(h)]

    def _phone(self, text: str) -> str:
        try:
            return phone_normalize(workspace=self.workspace, phone=text)
        except ServiceError:
            # Excel shows +852 6123 4567 typed into a number cell as 85261234567: try it as international.
            digits = text.replace(" ", "")
            if digits.isdigit() and len(digits) >= 10:
                try:
                    return phone_normalize(workspace=self.workspace, phone="+" + digits)
                except ServiceError:
                    pass
            raise

    def _cell(self, target: str, text: str):
        if target == "name":
            if len(text) > NAME_MAX:
                raise ServiceError(_("At most %(n)d characters.") % {"n": NAME_MAX})
            return text
        if target == "phone":
            return self._phone(text) if text else ""
        if target == "email":
            return email_normalize(text)
        if target == "member_id":
            if len(text) > MEMBER_ID_MAX:
                raise ServiceError(_("At most %(n)d characters.") % {"n": MEMBER_ID_MAX})
            return text
        if target == "tags":
            for separator in TAG_SEPARATORS[1:]:
                text = text.replace(separator, ",")
            return tag_names_clean(text.split(","))
        return attribute_value(self.attributes[target[len(ATTR):]], text)

    def clean(self, number: int, cells: list[str]) -> CleanRow:
        values, errors, shown = {"tags": []}, [], {}
        for index, header, target in self.columns:
            text = cells[index] if index < len(cells) else ""
            try:
                value = self._cell(target, text)
            except ServiceError as exc:
                errors.append({"row": number, "column": header, "field": target, "message": str(exc.message)})
                shown[header] = text
                continue
            shown[header] = value
            if target == "tags":
                values["tags"] += [t for t in value if t not in values["tags"]]
            else:
                values[target] = value
        if not errors and not any(values.get(k) for k in KEY_TARGETS):
            errors.append({"row": number, "column": "", "field": "", "message": _(
                "The row has no member id, phone or email, so it cannot be matched to a contact.")})
        return CleanRow(number, values, errors, shown)


# --- matching and writing ------------------------------------------------------------------------------------


class _Planner:
    """Matches cleaned rows to contacts and works out what to create and change, without writing.

    `carry` lets a dry run remember, across chunks, the contacts it would have created (a real run finds them in
    the database); it maps ("m"|"p"|"e", value) → member id.
    """

    def __init__(self, workspace: Workspace, *, dry_run: bool):
        self.workspace = workspace
        self.dry_run = dry_run
        self.carry: dict[tuple[str, str], str] = {}

    def _load(self, rows: list[CleanRow]) -> dict:
        """The live contacts the rows' keys name: member ids first, then phones and emails of the rows still
        unmatched (most rows of a re-import match by member id: one query instead of three)."""
        live = Contact.objects.for_workspace(self.workspace).filter(merged_into__isnull=True).order_by("pk").only(
            "workspace_id", "name", "phone", "email", "member_id", "attributes", "merged_into_id")
        found: dict[tuple[str, str], Contact] = {}
        by_pk: dict[int, Contact] = {}
        pending = rows
        for kind, field in (("m", "member_id"), ("p", "phone"), ("e", "email")):
            values = {r.values.get(field) for r in pending} - {"", None}
            if values:
                for contact in live.filter(**{f"{field}__in": values}):
                    contact = by_pk.setdefault(contact.pk, contact)
                    found.setdefault((kind, getattr(contact, field)), contact)
            pending = [r for r in pending if (kind, r.values.get(field)) not in found]
        return found

    def plan(self, rows: list[CleanRow]):
        """→ (new contacts, changed contacts {id(): (contact, fields)}, tags {name: [contacts]}, created, updated,
        errors). Rows that conflict are errors and change nothing."""
        found = self._load(rows)
        seen: dict[tuple[str, str], Contact | None] = {}
        new, changed, tags = [], {}, {}
        created = updated = 0
        errors = []
        now = clock.now(self.workspace)

        def lookup(kind, value):
            if not value:
                return None
            key = (kind, value)
            if key in seen:
                return seen[key]
            if key in found:
                return found[key]
            if key in self.carry:  # dry run: a contact an earlier chunk would have created
                contact = Contact(workspace=self.workspace, member_id=self.carry[key])
                contact._import_new = False
                seen[key] = contact
                return contact
            return None

        def remember(contact, kind, old, value):
            if old and old != value:
                seen[(kind, old)] = None  # that key no longer names this contact
            if value:
                seen[(kind, value)] = contact

        for row in rows:
            v = row.values
            member_id, phone, email = v.get("member_id", ""), v.get("phone", ""), v.get("email", "")
            contact = lookup("m", member_id)
            via = "member_id"
            if contact is None and phone:
                contact, via = lookup("p", phone), "phone"
            if contact is None and email:
                contact, via = lookup("e", email), "email"
            if contact is not None and via != "member_id" and member_id and contact.member_id \
                    and contact.member_id != member_id:
                errors.append({"row": row.row, "column": "", "field": "member_id", "message": _(
                    "This %(key)s belongs to the contact with member id “%(theirs)s”, but the row says “%(ours)s”.")
                    % {"key": FIELD_LABELS[via], "theirs": contact.member_id, "ours": member_id}})
                continue
            attributes = {k[len(ATTR):]: val for k, val in v.items() if k.startswith(ATTR) and val is not None}
            # The keys that named this contact before the row: a key the row replaces no longer names it.
            old = getattr(contact, "_import_keys", None) or (
                (contact.member_id, contact.phone, contact.email) if contact is not None else ("", "", ""))
            if contact is None:
                contact = Contact(workspace=self.workspace, name=v.get("name", ""), phone=phone, email=email,
                                  member_id=member_id, attributes=attributes, created_at=now)
                contact._import_new = True
                new.append(contact)
                created += 1
            else:
                fields = changed.setdefault(id(contact), (contact, set()))[1]
                for field in ("name", "phone", "email", "member_id"):
                    value = v.get(field, "")
                    if value and getattr(contact, field) != value:
                        setattr(contact, field, value)
                        fields.add(field)
                merged = {**(contact.attributes or {}), **attributes}
                if merged != (contact.attributes or {}):
                    contact.attributes = merged
                    fields.add("attributes")
                updated += 1
            remember(contact, "m", old[0], contact.member_id)
            remember(contact, "p", old[1], contact.phone)
            remember(contact, "e", old[2], contact.email)
            contact._import_keys = (contact.member_id, contact.phone, contact.email)
            for name in v.get("tags") or []:
                tags.setdefault(name, []).append(contact)
        if self.dry_run:
            for (kind, value), contact in seen.items():
                if contact is not None and contact.pk is None:
                    self.carry[(kind, value)] = contact.member_id
        changed = {k: (c, f) for k, (c, f) in changed.items() if f and not getattr(c, "_import_new", False)}
        return new, changed, tags, created, updated, errors


def _bulk_insert(contacts: list[Contact]) -> None:
    """INSERT … RETURNING id for new contacts, 500 a statement, every column as the model prepares it; the ORM's
    bulk_create does the same with more overhead per row than the database spends on it."""
    table, qn = Contact._meta.db_table, connection.ops.quote_name
    fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(qn(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(contacts), 500):
            batch = contacts[start:start + 500]
            params = [None if (v := f.pre_save(c, True)) is None else f.get_db_prep_save(v, connection)
                      for c in batch for f in fields]
            cursor.execute(f"INSERT INTO {qn(table)} ({columns}) VALUES {', '.join([row] * len(batch))} "
                           f"RETURNING {qn('id')}", params)
            for contact, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                contact.pk = pk
                contact._state.adding = False


def _bulk_set(contacts: list[Contact], fields: list[str]) -> None:
    attnames = [Contact._meta.get_field(name).attname for name in fields]
    rows_update(Contact, fields, [(c.pk, *(getattr(c, attname) for attname in attnames)) for c in contacts])


def _tags_attach(workspace: Workspace, tags: dict[str, list[Contact]]) -> None:
    """Add tags (made when new) to contacts: what services.tags_add does, for a whole chunk in a few statements
    (INSERT … ON CONFLICT DO NOTHING, which SQLite and PostgreSQL share; the ORM's bulk_create cost more to build
    than to run)."""
    if not tags:
        return
    Tag.objects.bulk_create([Tag(workspace=workspace, name=n) for n in tags], ignore_conflicts=True)
    tag_ids = dict(Tag.objects.for_workspace(workspace).filter(name__in=list(tags)).values_list("name", "pk"))
    at = ContactTag._meta.get_field("created_at").get_db_prep_save(clock.now(workspace), connection)
    pairs = sorted({(c.pk, tag_ids[name]) for name, contacts in tags.items() for c in contacts})
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in ("workspace_id", "contact_id", "tag_id", "created_at"))
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), 1000):
            batch = pairs[start:start + 1000]
            params = [v for contact_id, tag_id in batch for v in (workspace.pk, contact_id, tag_id, at)]
            cursor.execute(f"INSERT INTO {qn(ContactTag._meta.db_table)} ({columns}) VALUES "
                           f"{', '.join(['(%s, %s, %s, %s)'] * len(batch))} ON CONFLICT DO NOTHING", params)


def _write(workspace: Workspace, plan) -> None:
    new, changed, tags, *_counts = plan
    if any(c.member_id for c in new) or any("member_id" in f for _c, f in changed.values()):
        # Member ids are unique among live contacts without a database constraint: serialise with contact_create.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    _bulk_insert(new)
    if changed:
        now = timezone.now()
        fields = set()
        for contact, changed_fields in changed.values():
            contact.updated_at = now
            fields |= changed_fields
        _bulk_set([c for c, _f in changed.values()], [*sorted(fields), "updated_at"])
    _tags_attach(workspace, tags)


class _Superseded(Exception):
    """Another run of the same job (a task put back after its worker looked dead) has moved on: stop quietly."""


class _Job:
    """One run of an import: reads the file, cleans, plans and writes chunk by chunk, and keeps the counts."""

    def __init__(self, job: ContactImport, beat=None):
        self.job = job
        self.workspace = job.workspace
        self.beat = beat or (lambda: None)
        self.planner = _Planner(self.workspace, dry_run=job.dry_run)

    def _progress(self, rows: int, created: int, updated: int, errors: list) -> None:
        job = self.job
        job.processed_rows += rows
        job.created_count += created
        job.updated_count += updated
        job.error_count += len({e["row"] for e in errors})  # failed rows (a row may have several problems)
        room = MAX_ERRORS - len(job.errors)
        if room > 0 and errors:
            job.errors = [*job.errors, *errors[:room]]
        ContactImport.objects.filter(pk=job.pk).update(
            processed_rows=job.processed_rows, created_count=job.created_count, updated_count=job.updated_count,
            error_count=job.error_count, errors=job.errors)

    def _commit_chunk(self, offset: int, count: int, valid: list[CleanRow], errors: list) -> None:
        """Write one chunk and its progress in one transaction, unless another run already did."""
        with transaction.atomic():
            locked = ContactImport.objects.select_for_update().filter(pk=self.job.pk) \
                .values("status", "processed_rows").first()
            if locked is None or locked["status"] != JobStatus.RUNNING or locked["processed_rows"] != offset:
                raise _Superseded
            plan = self.planner.plan(valid)
            _write(self.workspace, plan)
            self._progress(count, plan[3], plan[4], errors + plan[5])

    def _chunk(self, rows: list[CleanRow]) -> None:
        valid = [r for r in rows if not r.errors]
        errors = [e for r in rows for e in r.errors]
        if self.job.dry_run:
            plan = self.planner.plan(valid)
            self._progress(len(rows), plan[3], plan[4], errors + plan[5])
            return
        offset = self.job.processed_rows
        try:
            self._commit_chunk(offset, len(rows), valid, errors)
        except (_Superseded, ServiceError):
            raise
        except DatabaseError:
            # Something in the bulk write failed: write row by row so only the guilty row is refused.
            logger.warning("import %s: chunk at row %s failed in bulk, retrying row by row", self.job.pk,
                           rows[0].row, exc_info=True)
            self.job.refresh_from_db(fields=["processed_rows", "created_count", "updated_count", "error_count",
                                             "errors"])
            for row in rows:
                offset = self.job.processed_rows
                try:
                    self._commit_chunk(offset, 1, [] if row.errors else [row], row.errors)
                except DatabaseError as exc:
                    self.job.refresh_from_db(fields=["processed_rows"])
                    self._commit_chunk(offset, 1, [], [{"row": row.row, "column": "", "field": "", "message": _(
                        "This row could not be saved: %(problem)s") % {"problem": exc}}])

    def run(self, table, cleaner: RowCleaner) -> None:
        rows = table.rows()
        if self.job.processed_rows:  # resuming: these rows are already written
            rows = itertools.islice(rows, self.job.processed_rows, None)
        read = self.job.processed_rows
        while True:
            batch = list(itertools.islice(rows, CHUNK))
            if not batch:
                break
            read += len(batch)
            if read > MAX_ROWS:
                raise ServiceError(_too_many_rows(), field="file")
            self._chunk([cleaner.clean(number, cells) for number, cells in batch])
            self.beat()


def _too_many_rows() -> str:
    return _("The file has more than %(max)s rows. Split it into several files and import them one by one.") % {
        "max": f"{MAX_ROWS:,}"}


def _fail(job: ContactImport, message: str) -> None:
    ContactImport.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=message,
                                                   finished_at=timezone.now())


def contact_import_run(*, import_id: int, beat=None) -> str:
    """Run (or resume) an import job to the end; the background task's body. Returns the job's final status.

    Safe to run twice: a finished job is left alone, and a chunk is written only by the run that finds the job's
    progress where it left it.
    """
    job = ContactImport.objects.select_related("workspace", "created_by__user").filter(pk=import_id).first()
    if job is None or job.status in (JobStatus.DONE, JobStatus.FAILED):
        return job.status if job else "missing"
    user = job.created_by.user if job.created_by else None
    with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
        return _run(job, beat)


def _run(job: ContactImport, beat) -> str:
    resume = job.status == JobStatus.RUNNING and not job.dry_run
    if not resume:  # a first start, or a dry run started over (its matches were only in memory)
        job.processed_rows = job.created_count = job.updated_count = job.error_count = 0
        job.errors, job.error = [], ""
    job.status = JobStatus.RUNNING
    ContactImport.objects.filter(pk=job.pk).update(
        status=job.status, processed_rows=job.processed_rows, created_count=job.created_count,
        updated_count=job.updated_count, error_count=job.error_count, errors=job.errors, error="")
    try:
        with job.file.open("rb") as file:
            table = table_open(file)
            total = table.estimated_rows()
            if total is None:
                table.close()
                total = table_count(file)
                table = table_open(file)
            if total > MAX_ROWS:
                raise ServiceError(_too_many_rows(), field="file")
            ContactImport.objects.filter(pk=job.pk).update(total_rows=total)
            attributes = _attributes(job.workspace)
            try:
                mapping = mapping_clean(workspace=job.workspace, headers=table.headers, mapping=job.mapping,
                                        attributes=attributes)
            except ServiceError as exc:
                raise ServiceError(_("The mapping no longer fits: %(problem)s") % {"problem": exc.message}) from None
            try:
                _Job(job, beat).run(table, RowCleaner(job.workspace, table.headers, mapping, attributes))
            finally:
                table.close()
    except _Superseded:
        return "superseded"
    except ServiceError as exc:
        _fail(job, str(exc.message))
        return JobStatus.FAILED
    except FileNotFoundError:
        _fail(job, _("The uploaded file is no longer kept. Upload it again."))
        return JobStatus.FAILED
    except Exception:
        _fail(job, _("The import stopped on an unexpected error. Rows already counted as created or updated are "
                     "saved; run the import again to finish the rest."))
        raise
    done = ContactImport.objects.filter(pk=job.pk, status=JobStatus.RUNNING)
    done.update(status=JobStatus.DONE, total_rows=job.processed_rows, finished_at=timezone.now())
    return JobStatus.DONE


# --- uploads, preview and starting a job ---------------------------------------------------------------------


@dataclasses.dataclass
class ImportUpload:
    """An uploaded file kept in storage while its columns are mapped."""

    name: str  # storage name
    file_name: str  # as uploaded
    kind: str  # "csv" / "xlsx"
    headers: list[str]
    samples: list[tuple[int, list[str]]]  # the first rows (row number, cells)


def _read_upload(name: str, file_name: str) -> ImportUpload:
    with default_storage.open(name, "rb") as file:
        table = table_open(file)
        try:
            samples = list(itertools.islice(table.rows(), PREVIEW_ROWS))
        finally:
            table.close()
    if not samples:
        raise ServiceError(_("The file has a header row but no contacts under it."), field="file")
    return ImportUpload(name=name, file_name=file_name, kind=table.kind, headers=table.headers, samples=samples)


def import_upload_store(*, workspace: Workspace, upload) -> ImportUpload:
    """Keep an uploaded CSV/XLSX for mapping; whole-file problems (type, encoding, no header, no rows, size) are a
    ServiceError on "file" right away."""
    if upload is None:
        raise ServiceError(_("Choose a CSV or XLSX file."), field="file")
    if upload.size > MAX_FILE_BYTES:
        raise ServiceError(_("The file is larger than %(mb)s MB. Split it into several files.")
                           % {"mb": MAX_FILE_BYTES // (1024 * 1024)}, field="file")
    table = table_open(getattr(upload, "file", upload))
    table.close()
    suffix = ".xlsx" if table.kind == "xlsx" else ".csv"
    upload.seek(0)
    name = default_storage.save(f"imports/{timezone.now():%Y/%m}/{workspace.pk}-{uuid.uuid4().hex}{suffix}", upload)
    try:
        return _read_upload(name, PurePath(upload.name or "").name[:255] or f"contacts{suffix}")
    except ServiceError:
        default_storage.delete(name)
        raise


_SALT = "tidings.contacts.import-upload"


def import_upload_token(workspace: Workspace, upload: ImportUpload) -> str:
    """A signed reference to the stored file, good for this workspace only, for the mapping form to carry."""
    return signing.dumps({"w": workspace.pk, "n": upload.name, "f": upload.file_name}, salt=_SALT, compress=True)


def import_upload_load(*, workspace: Workspace, token: str) -> ImportUpload:
    try:
        data = signing.loads(token or "", salt=_SALT, max_age=UPLOAD_MAX_AGE)
    except signing.BadSignature:
        raise ServiceError(_("The upload has expired. Choose the file again."), field="file") from None
    if data.get("w") != workspace.pk or not default_storage.exists(data.get("n", "")):
        raise ServiceError(_("The upload has expired. Choose the file again."), field="file")
    return _read_upload(data["n"], data["f"])


def import_preview(*, workspace: Workspace, upload: ImportUpload, mapping: dict) -> dict:
    """The first rows as they would be imported: {"columns": [labels], "rows": [{"row", "cells": [{"value",
    "error"}], "ok"}]} with mapped columns only; the mapping's own problem (if any) as "problem"."""
    attributes = _attributes(workspace)
    try:
        mapping = mapping_clean(workspace=workspace, headers=upload.headers, mapping=mapping, attributes=attributes)
        problem = ""
    except ServiceError as exc:
        problem = str(exc.message)
        mapping = {h: t for h, t in (mapping or {}).items() if t in FIELD_TARGETS
                   or (str(t).startswith(ATTR) and str(t)[len(ATTR):] in attributes)}
    cleaner = RowCleaner(workspace, upload.headers, mapping, attributes)
    columns = [(header, target) for _i, header, target in cleaner.columns]
    rows = []
    for number, cells in upload.samples:
        clean = cleaner.clean(number, cells)
        by_column = {e["column"]: e["message"] for e in clean.errors}
        shown = []
        for _index, header, _target in cleaner.columns:
            value = clean.shown.get(header, "")
            if isinstance(value, list):
                value = "、".join(value)
            elif isinstance(value, bool):
                value = _("Yes") if value else _("No")
            elif value is None:
                value = ""
            shown.append({"value": value, "error": by_column.get(header, "")})
        rows.append({"row": number, "cells": shown, "ok": not clean.errors,
                     "problem": " ".join(e["message"] for e in clean.errors if not e["column"])})
    return {"columns": [{"header": h, "label": target_label(t, attributes)} for h, t in columns], "rows": rows,
            "problem": problem}


@transaction.atomic
def contact_import_start(*, workspace: Workspace, upload: ImportUpload, mapping: dict, dry_run: bool,
                         by=None) -> ContactImport:
    """Record an import (or a dry run) of an uploaded file and start it in the background."""
    from .tasks import contact_import_task

    mapping = mapping_clean(workspace=workspace, headers=upload.headers, mapping=mapping)
    job = ContactImport.objects.create(workspace=workspace, created_by=by, file=upload.name,
                                       file_name=upload.file_name, mapping=mapping, dry_run=dry_run)
    if not dry_run:
        audit_record(workspace=workspace, actor=getattr(by, "user", None), action="contacts.import", target=job,
                     changes={"file": upload.file_name})
    enqueue_on_commit(contact_import_task, job.pk)
    return job


@transaction.atomic
def contact_import_rerun(*, workspace: Workspace, contact_import: ContactImport, by=None) -> ContactImport:
    """Import for real the file and mapping a finished dry run checked (rows with errors are skipped again)."""
    from .tasks import contact_import_task

    if contact_import.workspace_id != workspace.pk:
        raise NotFound()
    if not contact_import.dry_run or contact_import.status != JobStatus.DONE:
        raise ServiceError(_("Only a finished dry run can be imported."), field="import")
    if not default_storage.exists(contact_import.file.name):
        raise ServiceError(_("The uploaded file is no longer kept. Upload it again."), field="file")
    job = ContactImport.objects.create(workspace=workspace, created_by=by, file=contact_import.file.name,
                                       file_name=contact_import.file_name, mapping=contact_import.mapping,
                                       dry_run=False)
    audit_record(workspace=workspace, actor=getattr(by, "user", None), action="contacts.import", target=job,
                 changes={"file": job.file_name})
    enqueue_on_commit(contact_import_task, job.pk)
    return job


def imports_list(workspace: Workspace, limit: int = 20):
    """Recent imports, newest first (selector for the import page)."""
    return ContactImport.objects.for_workspace(workspace).select_related("created_by__user")[:limit]


def import_get(workspace: Workspace, import_id) -> ContactImport | None:
    return ContactImport.objects.for_workspace(workspace).filter(pk=import_id).select_related(
        "created_by__user").first()
