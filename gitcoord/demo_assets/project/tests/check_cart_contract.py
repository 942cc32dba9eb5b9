"""Contract checks (task TESTS): the API implementation returns what cart-api promises."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.api.cart import add_item, create_cart, get_cart  # noqa: E402

REQUIRED = {"id", "items", "total", "currency"}


def main() -> None:
    create_cart("c-1001")
    cart = add_item("c-1001", "TEA-42", 2, 450)
    assert REQUIRED <= set(cart), f"missing {REQUIRED - set(cart)}"
    assert cart["total"] == 900 and get_cart("c-1001") is cart
    print("cart-api contract checks passed")


if __name__ == "__main__":
    main()
