"""Stores (分店): list, add, edit."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from tidings.core.errors import ServiceError
from tidings.core.models import Store
from tidings.core.permissions import Permission
from tidings.core.selectors import stores_list
from tidings.core.services import store_create, store_update

from ..access import form_error, require
from ..forms import StoreForm


@require(Permission.STORES_MANAGE)
def store_list(request):
    stores = stores_list(request.workspace).prefetch_related("members")
    return render(request, "console/stores/list.html", {"stores": stores})


@require(Permission.STORES_MANAGE)
def store_add(request):
    form = StoreForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            store = store_create(workspace=request.workspace, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Store %(name)s was added.") % {"name": store.name})
            return redirect("console:stores")
    return render(request, "console/stores/form.html", {"form": form, "title": _("Add store")})


@require(Permission.STORES_MANAGE)
def store_edit(request, store_id):
    store = get_object_or_404(Store.objects.for_workspace(request.workspace), pk=store_id)
    form = StoreForm(request.POST or None, initial={"name": store.name, "code": store.code})
    if request.method == "POST" and form.is_valid():
        try:
            store = store_update(workspace=request.workspace, actor=request.user, store=store, **form.cleaned_data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Store %(name)s was saved.") % {"name": store.name})
            return redirect("console:stores")
    return render(request, "console/stores/form.html", {
        "form": form, "store": store, "title": _("Edit store %(name)s") % {"name": store.name},
    })
