#!/usr/bin/env python
"""Contact import benchmark: N generated rows as XLSX and as CSV, imported through the service the background task
runs (`contacts.imports.contact_import_run`), on a throwaway database. Prints rows per second.

    bench/run contact_import                                             # SQLite file under var/, 100,000 rows
    bench/run contact_import --database-url postgres://postgres@127.0.0.1:5432/postgres
    bench/run contact_import --rows 20000 --formats csv

Each row has a name, a phone, an email, a member id, two tags and three custom attributes (choice, number, date);
one row in 500 has a bad phone (a row error, as real files have). Per format, in a fresh workspace:

- `read`: only reading the file (parsing, no checks, no database) - the floor for that format;
- `dry run`: every row cleaned and matched, nothing written;
- `create`: the import into an empty workspace (every row creates a contact);
- `update`: the same file again (every row matches its contact by member id and changes it).
"""

import argparse
import datetime
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import tidings_bench  # noqa: E402

HEADER = ["姓名", "手機", "Email", "會員編號", "標籤", "會員等級", "積分", "生日"]


def rows(count: int, seed: int, *, renamed: bool = False):
    rng = random.Random(seed)
    levels = ["gold", "silver", "bronze"]
    tags = ["VIP", "newsletter", "2024 秋季", "門市", "網店", "回購"]
    for n in range(count):
        number = 61_000_000 + n  # valid Hong Kong mobiles; half typed with the country code, half without
        phone = f"+852 {number}" if n % 2 else f"{number // 10000} {number % 10000:04d}"
        phone = "12345" if n % 500 == 499 else phone
        born = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(20000))
        yield [f"{'客戶' if not renamed else '顧客'} {n}", phone, f"c{n}@example.com", f"M{n:07d}",
               "、".join(rng.sample(tags, 2)), rng.choice(levels), rng.randrange(10_000), born.isoformat()]


def write_xlsx(path: Path, count: int, seed: int, **kw) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(HEADER)
    for row in rows(count, seed, **kw):
        sheet.append(row)
    book.save(path)


def write_csv(path: Path, count: int, seed: int, **kw) -> None:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed, **kw))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000, help="rows per file (default 100000)")
    p.add_argument("--formats", default="xlsx,csv", help="comma-separated: xlsx, csv (default both)")
    p.add_argument("--database-url", help="a PostgreSQL server URL; a database tidings_bench_import is made on it")
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as folder, \
            tidings_bench(args.database_url, "tidings_bench_import", timeout=3600, keep=args.keep,
                          TIDINGS_VAR_DIR=folder):
        from django.core.files import File
        from django.db import connection

        from tidings.contacts.imports import (
            contact_import_run,
            contact_import_start,
            import_upload_store,
            mapping_suggest,
        )
        from tidings.contacts.models import Contact, ContactImport
        from tidings.contacts.services import custom_attribute_create
        from tidings.contacts.tabular import table_open
        from tidings.core.roles import Role
        from tidings.core.services import member_add, workspace_create

        print(f"database: {connection.vendor}; {args.rows:,} rows per file")
        # CPU seconds of this process beside wall time: on a shared machine the wall clock counts other work too
        # (and, on PostgreSQL, the database server's share is in the wall time only).
        print(f"{'format':<6} {'step':<8} {'seconds':>8} {'cpu s':>7} {'rows/s':>9}  result")
        for index, fmt in enumerate(formats):
            workspace = workspace_create(slug=f"bench-{fmt}", name=f"Bench {fmt}", is_sandbox=False)
            member = member_add(workspace=workspace, actor=None, email=f"bench-{fmt}@example.test", name="Bench",
                                role=Role.ADMIN, password="bench-password-1")
            custom_attribute_create(workspace=workspace, key="level", name="會員等級", type="choice",
                                    choices=["gold", "silver", "bronze"])
            custom_attribute_create(workspace=workspace, key="points", name="積分", type="number")
            custom_attribute_create(workspace=workspace, key="birthday", name="生日", type="date")
            path = Path(folder) / f"contacts.{fmt}"
            started = time.monotonic()
            (write_xlsx if fmt == "xlsx" else write_csv)(path, args.rows, seed=index)
            print(f"{fmt:<6} {'generate':<8} {time.monotonic() - started:>8.1f} {'':>7} {'':>9}  "
                  f"{path.stat().st_size / 1e6:.1f} MB")

            with path.open("rb") as f:
                started, cpu = time.monotonic(), time.process_time()
                table = table_open(f)
                read = sum(1 for _ in table.rows())
                table.close()
                seconds, cpu = time.monotonic() - started, time.process_time() - cpu
            print(f"{fmt:<6} {'read':<8} {seconds:>8.1f} {cpu:>7.1f} {read / seconds:>9,.0f}  {read:,} rows")

            def run(label: str, dry_run: bool, file_path: Path) -> None:
                with file_path.open("rb") as f:
                    upload = import_upload_store(workspace=workspace, upload=File(f, name=file_path.name))
                job = contact_import_start(workspace=workspace, upload=upload, dry_run=dry_run, by=member,
                                           mapping=mapping_suggest(workspace, upload.headers))
                began, cpu = time.monotonic(), time.process_time()
                status = contact_import_run(import_id=job.pk)
                took, cpu = time.monotonic() - began, time.process_time() - cpu
                job = ContactImport.objects.get(pk=job.pk)
                print(f"{fmt:<6} {label:<8} {took:>8.1f} {cpu:>7.1f} {job.processed_rows / took:>9,.0f}  {status}: "
                      f"{job.created_count:,} created, {job.updated_count:,} updated, {job.error_count:,} errors")
                if status != "done":
                    raise SystemExit(job.error)

            run("dry run", True, path)
            run("create", False, path)
            renamed = Path(folder) / f"renamed.{fmt}"
            (write_xlsx if fmt == "xlsx" else write_csv)(renamed, args.rows, seed=index + 100, renamed=True)
            run("update", False, renamed)
            live = Contact.objects.for_workspace(workspace).count()
            expected = args.rows - args.rows // 500
            if live != expected:
                raise SystemExit(f"{live:,} contacts in the workspace, expected {expected:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
