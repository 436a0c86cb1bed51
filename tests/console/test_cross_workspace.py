"""Any console URL taking an object id answers 404 for another workspace's object."""

import pytest
from django.urls import get_resolver, reverse

from tidings.core.roles import Role

ID_URLS = sorted(
    (f"console:{p.name}", tuple(p.pattern.converters))
    for p in get_resolver().url_patterns[-1].url_patterns
    if p.pattern.converters and all(name.endswith("_id") for name in p.pattern.converters)
)


def test_every_console_id_kwarg_is_known(foreign_objects):
    for _name, kwargs in ID_URLS:
        assert set(kwargs) <= set(foreign_objects)


@pytest.mark.parametrize("name, kwargs", ID_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_foreign_object_is_404(name, kwargs, method, admin, console_client, foreign_objects):
    url = reverse(name, kwargs={k: foreign_objects[k] for k in kwargs})
    response = getattr(console_client(admin), method)(url)
    assert response.status_code in (404, 405) if method == "get" else response.status_code == 404
    if method == "post" or response.status_code != 405:
        assert response.status_code == 404
