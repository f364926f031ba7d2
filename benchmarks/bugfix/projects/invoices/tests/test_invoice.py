import pytest

from invoices.invoice import Invoice


def make_invoice() -> Invoice:
    invoice = Invoice("INV-001", tax_rate=0.2)
    invoice.add("pencil", 3, 199)
    invoice.add("eraser", 1, 100)
    return invoice


def test_subtotal_and_total():
    invoice = make_invoice()
    assert invoice.subtotal_cents() == 697
    assert invoice.tax_cents() == 139
    assert invoice.total_cents() == 836


def test_average_unit_price():
    assert make_invoice().average_unit_price() == pytest.approx(1.7425)


def test_average_unit_price_of_empty_invoice():
    assert Invoice("INV-002").average_unit_price() == 0.0


def test_average_unit_price_whole_cents():
    invoice = Invoice("INV-003")
    invoice.add("mug", 2, 500)
    assert invoice.average_unit_price() == 5.0


def test_largest_item():
    assert make_invoice().largest_item().description == "pencil"
    assert Invoice("INV-004").largest_item() is None


def test_negative_quantity_is_refused():
    with pytest.raises(ValueError):
        Invoice("INV-005").add("refund", -1, 100)
