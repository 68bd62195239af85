"""The UI in a real headless browser (Debian's chromium): log in, see an experiment."""

from __future__ import annotations

import textwrap

import pytest
import requests

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def test_ui_shows_experiment(stack, tools):
    if not tools.chromium.exists():
        pytest.fail("chromium missing: run `make stack-tools`")
    sync_api = pytest.importorskip("playwright.sync_api")
    name = "stack-browser-visible"
    stack.run_client(textwrap.dedent(f"""
        import mlflow
        mlflow.set_experiment({name!r})
        with mlflow.start_run(run_name="from-a-test"):
            mlflow.log_metric("seen", 1.0)
    """))
    user, pw = next(iter(stack.users().items()))
    assert requests.get(stack.tracking_uri + "/", timeout=10).status_code == 401  # no credentials
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(tools.chromium), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            ctx = browser.new_context(http_credentials={"username": user, "password": pw})
            page = ctx.new_page()
            errors = []
            page.on("response", lambda r: errors.append((r.status, r.url)) if r.status >= 400 else None)
            resp = page.goto(stack.tracking_uri + "/#/experiments", timeout=120_000)
            assert resp.status == 200
            try:
                page.get_by_text(name).first.wait_for(timeout=120_000)
                page.get_by_text(name).first.click()
                # the experiment's own page (MLflow 3 opens its GenAI overview)
                # (a hidden "Overview" may come first in the DOM, e.g. in a collapsed menu)
                page.wait_for_url("**/#/experiments/*", timeout=120_000)
                page.locator("text=Overview >> visible=true").first.wait_for(timeout=120_000)
                page.get_by_text(name).first.wait_for(timeout=120_000)  # the page renders after its URL
                assert page.get_by_text(name).count() >= 1
            except Exception:
                page.screenshot(path=str(stack.state / "browser.png"))
                raise AssertionError(f"UI did not show the run; HTTP errors {errors}; "
                                     f"screenshot {stack.state / 'browser.png'}; text: {page.inner_text('body')[:2000]}")
            assert not [e for e in errors if e[0] in (401, 403)], errors
            ctx.close()
        finally:
            browser.close()
