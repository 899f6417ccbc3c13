"""Which accounts are one customer group: followed to the top, the same from every entity, names folded as
people write them (not as a database's lower() folds them)."""

from __future__ import annotations

from kam.groups import Named, group_keys


def test_a_chain_of_parents_is_one_group_seen_from_every_entity() -> None:
    keys = group_keys(
        [
            Named(1, "Contoso Pharma", "Contoso Holding"),
            Named(2, "Contoso Pharma US", "contoso pharma"),
            Named(3, "Contoso Italia", "Contoso  Pharma"),
            Named(4, "Fabrikam", None),
        ]
    )
    assert keys[1] == keys[2] == keys[3] == "contoso holding"
    assert keys[4] == "fabrikam"


def test_names_with_accents_and_capitals_fold_as_people_write_them() -> None:
    keys = group_keys([Named(1, "Öl AG", None), Named(2, "Öl Italia", "öl ag"), Named(3, "Électricité SA", "")])
    assert keys[1] == keys[2] == "öl ag" and keys[3] == "électricité sa"


def test_groups_naming_each_other_are_one_group_not_a_loop() -> None:
    keys = group_keys([Named(1, "Alpha", "Beta"), Named(2, "Beta", "Alpha"), Named(3, "Gamma", "Alpha")])
    assert keys[1] == keys[2] == keys[3] == "alpha"
