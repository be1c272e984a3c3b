"""Later and more specific wins: safety net < profile < options (in order) < recipe files."""

from __future__ import annotations

from pathlib import Path

from pydicom.datadict import tag_for_keyword

from deid.recipe import load_recipe, recipe_from_text
from deid.recipe.model import PrivateKey

T = tag_for_keyword


def test_unlisted_attributes_fall_to_the_safety_net():
    recipe = recipe_from_text("deid-recipe: 1\n")
    assert recipe.rule_for(T("Rows"), "US").action == "K"
    # attributes Table E.1-1 does not list
    assert recipe.rule_for(T("SecondaryReviewerName"), "PN").action == "X"
    assert recipe.rule_for(T("Manufacturer"), "LO").action == "C"
    assert recipe.rule_for(T("ImageType"), "CS").action == "K"
    assert recipe.rule_for(T("SOPClassUID"), "UI").action == "U"
    assert recipe.rule_for(T("SecondaryReviewDate"), "DA").action == "X"
    assert recipe.rule_for(T("SecondaryReviewTime"), "TM").action == "X"
    assert recipe.rule_for(T("SecondaryReviewTime"), "UN").action == "X"
    # listed attributes: the table row beats the VR rule
    assert recipe.rule_for(T("StudyDate"), "DA").action == "Z"
    assert recipe.rule_for(T("SeriesDescription"), "LO").action == "X"
    assert recipe.layers[0].origin.layer == "safety-net"
    assert recipe.layers[0].vr["DA"].action == "X"


def test_safety_net_dates_follow_the_date_policy():
    keep = recipe_from_text("deid-recipe: 1\noptions: [retain-longitudinal-full-dates]\n")
    shift = recipe_from_text("deid-recipe: 1\ndates: {policy: shift}\n")
    assert keep.layers[0].vr["DA"].action == "K" and keep.dates.mode == "keep"
    assert shift.layers[0].vr["TM"].action == "C" and shift.dates.mode == "shift"
    assert "retain-longitudinal-modified-dates" in shift.options  # implied by the policy


def test_option_overrides_profile_and_recipe_overrides_option():
    recipe = recipe_from_text(
        "deid-recipe: 1\noptions: [clean-descriptors]\nattributes:\n  StudyDescription: X\n"
    )
    rule = recipe.rule_for(T("StudyDescription"), "LO")
    assert rule.action == "X" and rule.origin.layer == "recipe" and rule.origin.line == 4
    plain = recipe_from_text("deid-recipe: 1\noptions: [clean-descriptors]\n")
    assert plain.rule_for(T("StudyDescription"), "LO").origin.name == "clean-descriptors"


def test_later_option_wins_over_earlier_option():
    # Retain Device Identity keeps (0018,1000); Clean Descriptors does not list it, so order
    # matters only for rows both list: Station Name is K under device identity.
    first = recipe_from_text("deid-recipe: 1\noptions: [retain-device-identity]\n")
    assert first.rule_for(T("DeviceSerialNumber"), "LO").action == "K"
    both = recipe_from_text(
        "deid-recipe: 1\noptions: [retain-patient-characteristics, clean-descriptors]\n"
    )
    swapped = recipe_from_text(
        "deid-recipe: 1\noptions: [clean-descriptors, retain-patient-characteristics]\n"
    )
    tag = T("PatientState")  # patient characteristics C, clean descriptors C: both list it
    assert both.rule_for(tag, "LO").origin.name == "clean-descriptors"
    assert swapped.rule_for(tag, "LO").origin.name == "retain-patient-characteristics"


def test_tag_rule_beats_vr_rule_in_the_same_layer():
    recipe = recipe_from_text("deid-recipe: 1\nvr:\n  PN: K\nattributes:\n  PatientName: X\n")
    assert recipe.rule_for(T("PatientName"), "PN").action == "X"
    assert (
        recipe.rule_for(T("PerformingPhysicianName"), "PN").action == "K"
    )  # recipe VR beats table


def test_extends_chain_later_file_wins(write):
    write(
        "base.yaml", "deid-recipe: 1\nattributes:\n  StudyDescription: X\n  SeriesDescription: X\n"
    )
    write("middle.yaml", "deid-recipe: 1\nextends: base.yaml\nattributes:\n  StudyDescription: C\n")
    top = write(
        "top.yaml",
        "deid-recipe: 1\nextends: middle.yaml\noptions: [retain-uids]\n"
        "attributes:\n  SeriesDescription: {action: replace, value: SERIES}\n",
    )
    recipe = load_recipe(top)
    study = recipe.rule_for(T("StudyDescription"), "LO")
    series = recipe.rule_for(T("SeriesDescription"), "LO")
    assert study.action == "C" and Path(study.origin.file).name == "middle.yaml"
    assert series.action == "replace" and series.value == "SERIES"
    assert [Path(f).name for f in recipe.source_files][-3:] == [
        "base.yaml",
        "middle.yaml",
        "top.yaml",
    ]
    assert recipe.uids.mode == "keep"


def test_extends_list_and_diamond_compose_each_file_once(write):
    write("a.yaml", "deid-recipe: 1\noptions: [retain-device-identity]\n")
    write("b.yaml", "deid-recipe: 1\nextends: a.yaml\noptions: [clean-descriptors]\n")
    write("c.yaml", "deid-recipe: 1\nextends: a.yaml\noptions: [retain-uids]\n")
    top = write("top.yaml", "deid-recipe: 1\nextends: [b.yaml, c.yaml]\n")
    recipe = load_recipe(top)
    names = [Path(f).name for f in recipe.source_files if "recipes" not in f]
    assert names.count("a.yaml") == 1
    assert recipe.options == ("retain-device-identity", "clean-descriptors", "retain-uids")


def test_extends_a_builtin_by_name(write):
    path = write("mine.yaml", "deid-recipe: 1\nextends: research\n")
    recipe = load_recipe(path)
    assert "clean-pixel-data" in recipe.options
    assert recipe.rule_for(T("PatientID"), "LO").action == "pseudonym"


def test_private_rules_by_key_then_block_then_default():
    recipe = recipe_from_text(
        "deid-recipe: 1\noptions: [retain-safe-private]\n"
        'attributes:\n  (0029,"SIEMENS CSA HEADER",10): K\n'
        'private-creators:\n  "GEMS_ACQU_01": C\n  (0019,"ACME"): K\n'
    )
    assert recipe.rule_for_private(PrivateKey(0x29, "SIEMENS CSA HEADER", 0x10), "OB").action == "K"
    assert recipe.rule_for_private(PrivateKey(0x29, "SIEMENS CSA HEADER", 0x20), "OB").action == "X"
    assert recipe.rule_for_private(PrivateKey(0x19, "GEMS_ACQU_01", 0x99), "LO").action == "C"
    assert recipe.rule_for_private(PrivateKey(0x43, "GEMS_ACQU_01", 0x01), "LO").action == "C"
    assert recipe.rule_for_private(PrivateKey(0x19, "ACME", 0x01), "LO").action == "K"
    assert recipe.rule_for_private(PrivateKey(0x21, "ACME", 0x01), "LO").action == "X"
    safe = PrivateKey(0x7053, "Philips PET Private Group", 0x00)
    assert recipe.rule_for_private(safe, "DS").action == "K"
    assert safe in recipe.safe_private
    # VR rules never reach private data
    vr_only = recipe_from_text("deid-recipe: 1\nvr:\n  LO: K\n")
    assert vr_only.rule_for_private(PrivateKey(0x19, "X", 1), "LO").action == "X"


def test_private_star_sets_the_private_default():
    recipe = recipe_from_text('deid-recipe: 1\nprivate-creators:\n  "*": K\n  "EVIL": X\n')
    assert recipe.rule_for_private(PrivateKey(0x19, "ANY", 1), "LO").action == "K"
    assert recipe.rule_for_private(PrivateKey(0x19, "EVIL", 1), "LO").action == "X"


def test_repeating_groups():
    recipe = recipe_from_text("deid-recipe: 1\nattributes:\n  (60xx,4000): K\n")
    assert recipe.rule_for(0x60024000, "LT").action == "K"
    assert recipe.rule_for(0x60003000, "OW").action == "X"  # table (60xx,3000)
    assert recipe.rule_for(0x50040010, "US").action == "X"  # table (50xx,xxxx)
    graphics = recipe_from_text("deid-recipe: 1\noptions: [clean-graphics]\n")
    assert graphics.rule_for(0x501E3000, "OW").action == "C"
