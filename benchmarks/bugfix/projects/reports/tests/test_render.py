from reports.render import Sale, format_money, render_table, sales_report, totals_by_region


def test_format_money():
    assert format_money(1234.5) == "1,234.50 EUR"


def test_format_money_small_and_other_currency():
    assert format_money(0.5, "USD") == "0.50 USD"


def test_totals_by_region():
    sales = [Sale("north", 10.0), Sale("south", 5.0), Sale("north", 2.5)]
    assert totals_by_region(sales) == {"north": 12.5, "south": 5.0}


def test_render_table_aligns():
    assert render_table([("a", "1"), ("bbb", "22")]) == "a    1\nbbb 22"


def test_render_empty_table():
    assert render_table([]) == ""


def test_sales_report():
    report = sales_report([Sale("north", 1200.0), Sale("south", 99.99)])
    assert report.splitlines() == [
        "north 1,200.00 EUR",
        "south    99.99 EUR",
        "TOTAL 1,299.99 EUR",
    ]
