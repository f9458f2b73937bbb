"""When a person already known to the hub may be attached to another organisation's rows.

A teacher may work at two schools and a parent may have children at two schools,
so one person record is shared. A vendor app proves it means the person already on
record, not merely someone whose personal ID it learnt, by sending the identity on
record: the personal ID (the key it looked them up by), the full name and the birth
date. The check must reveal nothing: the caller learns only "matches" or not.
"""

import unicodedata
from datetime import date


def _name_key(name: str) -> str:
    """Names compare as people read them: case and spacing ignored, diacritics kept (NFC)."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def same_identity(
    *,
    stored_name: str,
    stored_birth_date: date | None,
    sent_name: str,
    sent_birth_date: date | None,
) -> bool:
    """Whether what a caller sent is the identity on record (the personal ID already matched).

    Diacritics count ("Lê" is not "Le": they are different Vietnamese names); a birth
    date the hub does not know is not asked for.
    """
    if _name_key(stored_name) != _name_key(sent_name):
        return False
    return stored_birth_date is None or stored_birth_date == sent_birth_date


def identity_changes(
    *,
    stored: dict[str, object],
    sent: dict[str, object],
) -> list[str]:
    """The identity fields ``sent`` would change on the record (names compared as people read)."""
    changed = []
    for name, value in sent.items():
        before = stored.get(name)
        if name == "full_name" and isinstance(before, str) and isinstance(value, str):
            if _name_key(before) != _name_key(value):
                changed.append(name)
        elif before != value:
            changed.append(name)
    return changed
