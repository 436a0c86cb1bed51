from tests.support.cross_workspace import register_object_factory


def make_bill(workspace):
    import datetime

    from tidings.billing.services import bill_generate

    bill, _created = bill_generate(workspace=workspace, month=datetime.date(2020, 1, 1))
    return bill


register_object_factory("bill_id", make_bill)
