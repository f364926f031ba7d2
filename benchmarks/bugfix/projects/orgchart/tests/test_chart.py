from orgchart.chart import Employee, chain_of_command, headcount, levels, walk


def make_company() -> Employee:
    ceo = Employee("Grace", "CEO")
    cto = ceo.add("Alan", "CTO")
    cto.add("Ada", "Engineer")
    cto.add("Linus", "Engineer").add("Guido", "Intern")
    ceo.add("Joan", "CFO")
    return ceo


def test_headcount():
    assert headcount(make_company()) == 6


def test_levels_of_a_lone_employee():
    assert levels(Employee("Solo", "Founder")) == 1


def test_levels_of_the_company():
    assert levels(make_company()) == 4


def test_walk_order():
    assert [e.name for e in walk(make_company())] == [
        "Grace",
        "Alan",
        "Ada",
        "Linus",
        "Guido",
        "Joan",
    ]


def test_chain_of_command():
    assert chain_of_command(make_company(), "Guido") == ["Grace", "Alan", "Linus", "Guido"]
    assert chain_of_command(make_company(), "Nobody") == []
