import pytest

from portal.web import format_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, ""),
        (0, "0 s"),
        (45, "45 s"),
        (720, "12 min"),
        (34846, "9 h 40 min"),
        (183600, "2 d 3 h"),
    ],
)
def test_ages_read_as_a_manager_says_them(seconds, text):
    assert format_duration(seconds) == text
