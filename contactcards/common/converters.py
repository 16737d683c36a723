class E164Converter:
    """A phone number in a URL, e.g. /numbers/+14155550123/.

    URLs address the *stored* row, so the segment is taken as it is and looked up exactly: a number
    in normal form (``phones.is_e164``, what forms and commands store) is the usual case, but a value
    stored before validation was strict (``+1555010009٣``, a trailing newline) must still reverse and
    resolve, so that its page, history and "Remove" link work instead of failing every page that lists it
    (``manage.py checknumbers`` finds such rows). Nothing is created from a URL, so accepting any
    segment here lets nothing new in.
    """

    regex = r"[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        if not isinstance(value, str) or not value or "/" in value:
            raise ValueError(f"not a stored number: {value!r}")
        return value
