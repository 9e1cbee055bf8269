"""Without Chromium the browser tests skip with the reason, but fail on CI."""

import pytest

from tests.e2e import browser


def test_without_chromium_the_browser_tests_skip_and_say_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        browser._missing("no chromium on PATH")


def test_on_ci_a_missing_chromium_fails_the_browser_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        browser._missing("no chromium on PATH")
