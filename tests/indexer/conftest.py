from collections.abc import Callable
from pathlib import Path

import pytest

FILES = {
    "shop/cart.py": '''class Cart:
    """A shopping cart holding line items."""

    def add_item(self, sku, quantity):
        self.items.append((sku, quantity))

    def total_price(self):
        return sum(price_of(sku) * q for sku, q in self.items)
''',
    "shop/payment.py": '''def charge_credit_card(card_number, amount):
    """Send the amount to the payment gateway."""
    return gateway.post("/charge", card=card_number, amount=amount)
''',
    "util/strings.py": """def slugify(title):
    return "-".join(title.lower().split())
""",
    "README.md": "# Shop\\n\\nA tiny web shop with a cart and card payments.\\n",
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def tree() -> Callable[[Path, dict[str, str]], None]:
    """Write files under a root."""
    return write_tree


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop-ws"
    write_tree(root, FILES)
    return root
