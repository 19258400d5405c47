"""``dataload pipeline NAME show`` in a real headless browser: Debian's chromium driven by Selenium.

Skips with the reason where chromium, chromedriver or selenium is missing; fails instead when
``CI`` is set (``.ci/run`` installs them).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import skip_or_fail_in_ci
from show_pages import serving

HOSTILE_VALUE = "<script>alert('x')</script><b>not bold</b>"


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless chromium under chromedriver, closed after the test."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        skip_or_fail_in_ci("chromium and chromedriver are not installed",
                           remedy="apt-get install -y chromium chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        skip_or_fail_in_ci("selenium is not installed", remedy='pip install -e ".[test]"')
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_browser_renders_the_table_list_and_shows_markup_in_values_as_text(make_pipeline, browser):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    pipe = make_pipeline("show_browser")
    pipe.run([{"id": 1, "note": HOSTILE_VALUE, "tags": ["a", "b"]}, {"id": 2, "note": "plain", "tags": []}],
             table_name="notes")
    with serving(pipe) as client:
        browser.get(str(client.base_url))
        rows = browser.find_elements(By.CSS_SELECTOR, "table#tables tr")
        listed = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows[1:]]
        assert [(row[0], row[1], row[3]) for row in listed] == [("notes", "", "2"), ("notes__tags", "notes", "2")]

        browser.find_element(By.LINK_TEXT, "notes").click()
        header = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "table#rows th")]
        notes = [row.find_elements(By.TAG_NAME, "td")[header.index("note")].text
                 for row in browser.find_elements(By.CSS_SELECTOR, "table#rows tr")[1:]]
        assert sorted(notes) == sorted([HOSTILE_VALUE, "plain"])
        assert browser.find_elements(By.CSS_SELECTOR, "table#rows b") == []  # the value's <b> is text, not a tag
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018  (reading it is what raises)
