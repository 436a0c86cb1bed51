"""Swagger UI at /api/v1/docs, served entirely from this server (no CDN), so the docs work offline.

django-ninja ships Swagger UI in its package's static folder, but only uses it when "ninja" is an installed app;
otherwise it loads the UI from a CDN. We render our own page and serve the few asset files from ninja's package
directory through `docs_asset` (an allow-list, so nothing else in that folder is reachable).
"""

import json
import mimetypes
from pathlib import Path

import ninja
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from ninja.openapi.docs import DocsBase

ASSET_DIR = Path(ninja.__file__).resolve().parent / "static" / "ninja"
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.svg", "favicon.png")


class LocalSwagger(DocsBase):
    template = "api/swagger.html"
    default_settings = {"layout": "BaseLayout", "deepLinking": True, "persistAuthorization": True}

    def __init__(self, settings: dict | None = None):
        self.settings = {**self.default_settings, **(settings or {})}

    def render_page(self, request: HttpRequest, api, **kwargs) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        assets = {name.replace("-", "_").replace(".", "_"): reverse(f"{api.urls_namespace}:docs-asset", args=[name])
                  for name in ASSETS}
        return render(request, self.template, {"api": api, "swagger_settings": json.dumps(settings), "assets": assets})


@require_GET
def docs_asset(request: HttpRequest, name: str) -> HttpResponse:
    if name not in ASSETS:
        raise Http404(name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(open(ASSET_DIR / name, "rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response
