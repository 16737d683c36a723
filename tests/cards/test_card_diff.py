from contactcards.cards.diff import changed_fields

LOADED = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/a.png"}


def test_no_change_is_empty():
    assert changed_fields(LOADED, dict(LOADED)) == {}


def test_one_change_reports_old_and_new():
    assert changed_fields(LOADED, {**LOADED, "last_name": "Sales"}) == {"last_name": ["Support", "Sales"]}


def test_whitespace_and_none_are_not_changes():
    assert changed_fields({**LOADED, "last_name": None}, {**LOADED, "first_name": " Acme ", "last_name": ""}) == {}


def test_cleared_field_is_a_change_to_empty():
    assert changed_fields(LOADED, {**LOADED, "last_name": ""}) == {"last_name": ["Support", ""]}


def test_every_field_can_change_at_once_in_api_order():
    new = {"first_name": "B", "last_name": "C", "image_url": "https://example.com/b.png"}
    assert list(changed_fields(LOADED, new)) == ["first_name", "last_name", "image_url"]


def test_unknown_keys_are_ignored():
    assert changed_fields(LOADED, {**LOADED, "phone_number": "+1555", "is_active": False}) == {}
