"""A real browser for the page tests: Debian's chromium, headless, through selenium."""
from __future__ import annotations

import shutil
import time

import pytest


def browser():
    """Headless chromium through selenium, or a skip naming what is missing."""
    missing = [name for name in ("chromium", "chromedriver") if not shutil.which(name)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (scripts/test.sh installs Debian's chromium, "
                    "chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
                "--autoplay-policy=no-user-gesture-required", "--allow-file-access-from-files"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def wait_for(driver, script: str, timeout: float = 30.0):
    """Polls a JavaScript expression until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while not (value := driver.execute_script(f"return {script}")):
        assert time.monotonic() < deadline, f"timed out waiting for {script}"
        time.sleep(0.1)
    return value
