from .models import ChannelAccount


def accounts_list(workspace):
    return ChannelAccount.objects.for_workspace(workspace)


def account_by_public_id(public_id) -> ChannelAccount | None:
    try:
        return ChannelAccount.objects.select_related("workspace").filter(public_id=public_id).first()
    except (ValueError, TypeError):  # not a UUID
        return None


def account_for_channel(workspace, channel: str) -> ChannelAccount | None:
    """The workspace's active account on a channel (the first connected, when there are several)."""
    return ChannelAccount.objects.for_workspace(workspace).filter(channel=channel, is_active=True).order_by("id").first()
