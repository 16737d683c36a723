"""One humane way to say how long: "45 s", "9 min 55 s", "2 h 5 min", "3 d 4 h".

Used by every template (``{{ seconds|duration }}``, templatetags/timefmt.py) and mirrored by
static/js/countdown.js, so a wait reads the same on the page, in a banner and while it counts down.
Two units at most; a zero second unit is left out ("10 min", not "10 min 0 s").
"""

from __future__ import annotations

import math

from django.utils.translation import pgettext_lazy

UNITS = ((pgettext_lazy("time unit", "d"), 86400), (pgettext_lazy("time unit", "h"), 3600),
         (pgettext_lazy("time unit", "min"), 60), (pgettext_lazy("time unit", "s"), 1))


def humane_duration(seconds: float | int | None) -> str:
    if seconds is None or not math.isfinite(float(seconds)):
        return ""
    total = max(0, math.ceil(float(seconds)))
    if total < 60:
        return f"{total} {UNITS[-1][0]}"
    for index, (name, size) in enumerate(UNITS[:-1]):
        if total >= size:
            major, rest = divmod(total, size)
            minor_name, minor_size = UNITS[index + 1]
            minor = rest // minor_size
            return f"{major} {name} {minor} {minor_name}" if minor else f"{major} {name}"
    return f"{total} {UNITS[-1][0]}"  # unreachable: total >= 60 matched "min"
