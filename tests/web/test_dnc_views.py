"""The DNC list: inline add/edit/delete rows, search, keyset pages."""

from __future__ import annotations

from tests.web.conftest import admin_user, text


def _entries(app, count: int) -> list[int]:
    from portal.services import dnc

    with app.app_context():
        admin = admin_user()
        return [
            dnc.add_entry(
                admin, {"primaryNumber": f"303555{n:04d}", "name": f"Entry {n}"}
            ).id
            for n in range(count)
        ]


def test_add_returns_a_fresh_form_and_the_row_out_of_band(web_admin):
    response = web_admin.post(
        "/dnc", {"primaryNumber": "+1 303 555 0100", "name": "Ann"}, htmx=True
    )
    assert response.status_code == 200, text(response)
    body = text(response)
    assert body.lstrip().startswith('<form id="dnc-add"')
    assert '<template><tbody hx-swap-oob="afterbegin:#dnc-rows">' in body
    assert "Ann" in body and "+13035550100" in body


def test_add_errors_swap_the_form_with_422(web_admin):
    web_admin.post("/dnc", {"primaryNumber": "3035550100"}, htmx=True)
    response = web_admin.post("/dnc", {"primaryNumber": "303-555-0100"}, htmx=True)
    assert response.status_code == 422
    assert "already on the DNC list" in text(response)
    response = web_admin.post("/dnc", {"primaryNumber": "12"}, htmx=True)
    assert response.status_code == 422 and "field-error" in text(response)


def test_inline_edit_cancel_save_and_delete(app, web_admin):
    (entry_id,) = _entries(app, 1)
    edit = text(web_admin.get(f"/dnc/{entry_id}/edit", htmx=True))
    assert edit.lstrip().startswith(f'<tr id="dnc-{entry_id}" class="editing"')
    assert f'form="dnc-form-{entry_id}"' in edit
    page = web_admin.get(f"/dnc/{entry_id}/edit")
    assert "<html" in text(page) and f'id="dnc-{entry_id}"' in text(page)
    cancel = text(web_admin.get(f"/dnc/{entry_id}", htmx=True))
    assert cancel.lstrip().startswith(f'<tr id="dnc-{entry_id}">')

    bad = web_admin.post(
        f"/dnc/{entry_id}", {"primaryNumber": "x", "name": "Kept"}, htmx=True
    )
    assert (
        bad.status_code == 422
        and 'class="editing"' in text(bad)
        and 'value="Kept"' in text(bad)
    )
    saved = web_admin.post(
        f"/dnc/{entry_id}",
        {"primaryNumber": "3035550999", "name": "Changed"},
        htmx=True,
    )
    assert saved.status_code == 200
    assert (
        "Changed" in text(saved)
        and "3035550999" in text(saved)
        and "editing" not in text(saved)
    )

    gone = web_admin.delete(f"/dnc/{entry_id}")
    assert gone.status_code == 200 and "removed" in text(gone)
    assert web_admin.get(f"/dnc/{entry_id}", htmx=True).status_code == 404


def test_delete_without_csrf_header_is_refused(app, web_admin):
    (entry_id,) = _entries(app, 1)
    response = web_admin.client.delete(
        f"/dnc/{entry_id}", headers={"HX-Request": "true"}
    )
    assert response.status_code == 400


def test_search_and_keyset_pages(app, web_admin):
    ids = _entries(app, 55)
    first = text(web_admin.get("/dnc"))
    assert first.count('<tr id="dnc-') == 50
    assert f"after={ids[49]}" in first
    second = text(web_admin.get(f"/dnc?after={ids[49]}"))
    assert second.count('<tr id="dnc-') == 5 and "Next page" not in second
    found = text(web_admin.get("/dnc?q=Entry 7"))
    assert "<td>Entry 7</td>" in found
    by_number = text(web_admin.get("/dnc?q=303-555-0012"))
    assert by_number.count('<tr id="dnc-') == 1
    assert "No entry matches" in text(web_admin.get("/dnc?q=nobody"))
