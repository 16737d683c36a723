class E164Converter:
    """Matches a phone number in E.164 form in a URL, e.g. /numbers/+14155550123/."""

    regex = r"\+[1-9][0-9]{6,14}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
