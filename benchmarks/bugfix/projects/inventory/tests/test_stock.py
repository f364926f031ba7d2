import pytest

from inventory.stock import Inventory, UnknownItem


def test_add_and_get():
    inventory = Inventory()
    inventory.add("A1", "bolt", 10)
    assert inventory.get("A1").quantity == 10


def test_tags_given_at_creation():
    inventory = Inventory()
    inventory.add("A1", "glass", 1, tags=["fragile"])
    inventory.add("A2", "bolt", 5, tags=["metal"])
    assert inventory.with_tag("fragile") == ["A1"]


def test_tagging_one_item_leaves_the_others_alone():
    inventory = Inventory()
    inventory.add("A1", "vase", 2)
    inventory.add("A2", "bolt", 50)
    inventory.tag("A1", "fragile")
    assert inventory.with_tag("fragile") == ["A1"]
    assert inventory.get("A2").tags == []


def test_remove_stock():
    inventory = Inventory()
    inventory.add("A1", "bolt", 10)
    assert inventory.remove_stock("A1", 4) == 6
    with pytest.raises(ValueError):
        inventory.remove_stock("A1", 7)


def test_unknown_item():
    with pytest.raises(UnknownItem):
        Inventory().get("nope")


def test_low_stock():
    inventory = Inventory()
    inventory.add("A1", "bolt", 10)
    inventory.add("A2", "nut", 2)
    assert inventory.low_stock(5) == ["A2"]
