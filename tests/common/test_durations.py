"""One humane duration format everywhere: "45 s", "9 min 55 s", "2 h 5 min"."""

import pytest
from django.template import Context, Template

from contactcards.common.durations import humane_duration


@pytest.mark.parametrize("seconds, words", [
    (0, "0 s"), (1, "1 s"), (59, "59 s"), (59.2, "1 min"), (60, "1 min"), (90, "1 min 30 s"), (595, "9 min 55 s"),
    (599, "9 min 59 s"), (600, "10 min"), (3600, "1 h"), (3725, "1 h 2 min"), (86400 * 3 + 7200, "3 d 2 h"),
    (-5, "0 s"),
])
def test_humane_duration(seconds, words):
    assert humane_duration(seconds) == words


@pytest.mark.parametrize("value", [None, float("inf"), float("nan")])
def test_absurd_values_say_nothing(value):
    assert humane_duration(value) == ""


def test_the_template_filter_and_the_seconds_include_agree():
    html = Template('{% load timefmt %}{{ 595|duration }}|{% include "includes/seconds.html" with value=595 %}|'
                    '{{ "x"|duration }}').render(Context())
    assert html == "9 min 55 s|9 min 55 s|"
