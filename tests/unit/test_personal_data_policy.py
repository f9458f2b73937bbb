"""Every field of the schema that may carry personal data is in the one policy (issue 9)."""

import re

from graphql import GraphQLObjectType, get_named_type

from hub.domain.personal_data import FIELDS, Kind, present
from hub.schema.api import schema

#: Field names that say "personal data" (people's identifiers, contacts, names, keys).
LOOKS_PERSONAL = re.compile(
    r"personalId|phone|email|birth|fullName|ownerName|signerName|address|citizen|"
    r"^subject$|naturalKey|^key$|^results$",
    re.IGNORECASE,
)


def _fields() -> dict[str, str]:
    found = {}
    for type_name, graphql_type in schema._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        if type_name in ("Query", "Mutation", "Subscription"):
            continue  # root fields return types whose own fields are walked
        for field_name, field in graphql_type.fields.items():
            found[f"{type_name}.{field_name}"] = get_named_type(field.type).name
    return found


def test_every_field_that_looks_personal_is_in_the_policy():
    missing = sorted(
        name
        for name, type_name in _fields().items()
        if (LOOKS_PERSONAL.search(name.split(".")[1]) or type_name == "JSON") and name not in FIELDS
    )
    assert missing == [], f"add these to hub.domain.personal_data.FIELDS: {missing}"


def test_the_policy_names_only_fields_that_exist():
    assert sorted(set(FIELDS) - set(_fields())) == []


def test_every_masked_kind_masks():
    for kind, value in [
        (Kind.PERSONAL_ID, "001212345678"),
        (Kind.PHONE, "0912345678"),
        (Kind.EMAIL, "lan@truong.edu.vn"),
        (Kind.CERTIFICATE_SUBJECT, "CN=A, UID=CCCD:001212345678"),
    ]:
        assert present(frozenset(), kind, value) != value
        assert "12345678" not in present(frozenset(), kind, value)
