"""The admin page in a real browser: Debian's Chromium, headless, driven through Debian's
chromedriver by Selenium (the Python tests' virtual environment has it from pip; it downloads no
browser). An administrator and a user, each in their own browser (their own cookies): the user
signs in and sets an identifier, the administrator sees it appear on the admin page, messages
the user and disconnects them from there, and the user's next request lands in a guest session.

The screenshot of the admin page goes to target/tmp/admin.png; with SESSMGR_BLESS_DOCS=1 also to
docs/admin.png, with the digest of the page's sources in docs/admin.png.source, and the test
fails when those sources have changed since (the README's screenshot must show today's page).
"""

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import PASSWORDS, Client

ROOT = Path(__file__).resolve().parents[2]
PAGE_SOURCES = ["admin.html", "admin.js", "style.css"]


def chromium_binary():
    # Debian's /usr/bin/chromium is a shell wrapper around this binary.
    for path in ("/usr/lib/chromium/chromium", shutil.which("chromium")):
        if path and os.path.exists(path):
            return path
    raise AssertionError("chromium is not installed (apt-get install chromium chromium-driver)")


def browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1500,900", f"--user-data-dir={profile}", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--disable-default-apps", "--password-store=basic"):
        options.add_argument(flag)
    driver_path = shutil.which("chromedriver")
    assert driver_path, "chromedriver is not installed (apt-get install chromium-driver)"
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(120)
    return driver


@pytest.fixture
def two_browsers(tmp_path):
    drivers = [browser(tmp_path / "admin-profile"), browser(tmp_path / "user-profile")]
    yield drivers
    for driver in drivers:
        driver.quit()


def wait(driver, what, check, seconds=60):
    """Waits until check(driver) is truthy; fails naming what did not show. (What it waits for
    takes a few seconds at most, the admin page's refresh every three; a minute only turns a
    failure into a message, however busy the machine.)"""
    try:
        # The admin page replaces its tables every three seconds: a row found may go stale.
        return WebDriverWait(
            driver, seconds, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        ).until(lambda d: check(d))
    except Exception as error:  # TimeoutException, with the page for the failure message
        text = driver.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"{what} did not show on {driver.current_url}:\n{text}") from error


def text_of(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def sign_in(driver, url, user):
    driver.get(url + "/")
    wait(driver, "the home page", lambda d: text_of(d, "who") == "Guest")
    driver.find_element(By.ID, "user").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[user])
    driver.find_element(By.ID, "login").click()
    wait(driver, f"{user} signed in", lambda d: text_of(d, "who") == user)


def client_row(driver, identifier):
    """The cells' text of the clients table's row for a session identifier, or None (read in
    one step, as the page may replace the table at any time)."""
    return driver.execute_script(
        """for (const row of document.querySelectorAll('#clients tbody tr')) {
             if (row.querySelector('td.identifier').textContent === arguments[0])
               return [...row.cells].map((td) => td.textContent);
           }
           return null;""",
        identifier,
    )


def click_in_row(driver, identifier, css):
    """Clicks a button of a client's row, as a person would (again if the table was replaced
    in between)."""
    for _ in range(20):
        try:
            for row in driver.find_elements(By.CSS_SELECTOR, "#clients tbody tr"):
                if row.find_element(By.CSS_SELECTOR, "td.identifier").text == identifier:
                    row.find_element(By.CSS_SELECTOR, css).click()
                    return
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"no row for {identifier!r} to click {css} in")


def sources_digest():
    digest = hashlib.sha256()
    for name in PAGE_SOURCES:
        digest.update(name.encode() + b"\0" + (ROOT / "examples_c/http_host" / name).read_bytes() + b"\0")
    return digest.hexdigest()


def test_an_administrator_sees_and_disconnects_a_user(host, two_browsers):
    admin, user = two_browsers
    sign_in(admin, host.url, "admin")
    sign_in(user, host.url, "ann")
    user_cookies = {c["name"]: c for c in user.get_cookies()}
    assert user_cookies["sid"]["httpOnly"] is True and user_cookies["sid"]["sameSite"] == "Lax"
    assert user.execute_script("return document.cookie") == "", "scripts cannot read the session cookie"
    user.find_element(By.ID, "counter").click()
    wait(user, "the counter", lambda d: text_of(d, "count") == "1")

    # The user sets a session identifier; it appears on the admin page (which refreshes itself).
    admin.get(host.url + "/admin")
    wait(admin, "the admin page", lambda d: "of" in text_of(d, "page-info"))
    user.find_element(By.ID, "identifier").send_keys("Ann at Kiosk 7")
    user.find_element(By.ID, "set-identifier").click()
    wait(user, "the identifier", lambda d: text_of(d, "identifier-now") == "Ann at Kiosk 7")
    cells = wait(admin, "the user's identifier on the admin page", lambda d: client_row(d, "Ann at Kiosk 7"))
    client = cells[0]
    assert client == text_of(user, "client") and cells[2] == "ann" and cells[3] == "127.0.0.1", cells
    assert cells[4] == "WebDirect" and cells[7] == "Web Demo" and cells[8] == "NORMAL", cells
    page_text = admin.find_element(By.TAG_NAME, "body").text
    for cookie in admin.get_cookies() + user.get_cookies():
        assert cookie["value"] not in page_text and cookie["value"] not in admin.page_source

    # Filters and paging go through the library's query.
    admin.find_element(By.ID, "search").send_keys("kiosk 7")
    wait(admin, "the search", lambda d: text_of(d, "page-info") == "1–1 of 1")
    admin.find_element(By.ID, "search").clear()
    admin.find_element(By.ID, "search").send_keys("nobody")
    wait(admin, "an empty search", lambda d: text_of(d, "page-info") == "no clients")
    admin.find_element(By.ID, "search").clear()
    admin.find_element(By.ID, "search").send_keys("a")
    wait(admin, "both clients", lambda d: text_of(d, "page-info") == "1–2 of 2")

    # A message from the admin page reaches the user's page.
    admin.find_element(By.ID, "message-text").clear()
    admin.find_element(By.ID, "message-text").send_keys("Closing in five minutes")
    click_in_row(admin, "Ann at Kiosk 7", "button.message")
    wait(admin, "the message sent", lambda d: "Message to client " + client + ": done" in text_of(d, "action-status"))
    wait(user, "the message", lambda d: "Closing in five minutes" in text_of(d, "messages"))

    # More clients for the screenshot: a signed-in user and two guests, over plain HTTP.
    bob = Client(host).login("bob")
    bob.post("/identifier", {"identifier": "Front desk"})
    for _ in range(2):
        Client(host).get("/counter")
    admin.find_element(By.ID, "search").clear()
    admin.find_element(By.ID, "search").send_keys(Keys.BACKSPACE)
    wait(admin, "all five clients", lambda d: text_of(d, "page-info") == "1–5 of 5")
    assert client_row(admin, "Front desk")[2] == "bob"

    screenshot = ROOT / "target/tmp/admin.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    admin.save_screenshot(str(screenshot))
    if os.environ.get("SESSMGR_BLESS_DOCS") == "1":
        shutil.copyfile(screenshot, ROOT / "docs/admin.png")
        (ROOT / "docs/admin.png.source").write_text(sources_digest() + "\n")

    # Disconnect from the admin page: the row goes, and the user is a guest on their next request.
    admin.find_element(By.ID, "grace").clear()
    admin.find_element(By.ID, "grace").send_keys("0")
    click_in_row(admin, "Ann at Kiosk 7", "button.disconnect")
    wait(admin, "the row gone", lambda d: client_row(d, "Ann at Kiosk 7") is None)
    assert "Disconnect client " + client + ": done" in text_of(admin, "action-status")
    user.refresh()
    wait(user, "the user as a guest", lambda d: text_of(d, "who") == "Guest")
    assert text_of(user, "identifier-now") == "(none)" and text_of(user, "count") == "0"
    assert text_of(user, "client") != client, "a new session, a new client number"


def test_the_readme_screenshot_shows_todays_page():
    recorded = ROOT / "docs/admin.png.source"
    assert (ROOT / "docs/admin.png").exists() and recorded.exists(), "run with SESSMGR_BLESS_DOCS=1"
    assert recorded.read_text().strip() == sources_digest(), (
        "the admin page changed since docs/admin.png was taken: run the tests with SESSMGR_BLESS_DOCS=1"
    )
    png = (ROOT / "docs/admin.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
