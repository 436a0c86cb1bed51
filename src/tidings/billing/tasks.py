"""Background work of billing: sending its emails. Tasks only call services."""

from django_tasks import task


@task()
def bill_email_task(bill_id: int) -> str:
    from .services import bill_email_send

    return bill_email_send(bill_id=bill_id)


@task()
def low_balance_email_task(low_balance_email_id: int) -> str:
    from .services import low_balance_email_send

    return low_balance_email_send(low_balance_email_id=low_balance_email_id)
