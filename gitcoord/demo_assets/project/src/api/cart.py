"""Cart API (task API): an in-memory implementation of the cart-api contract."""

from src.shared.config import CURRENCY, MAX_ITEMS_PER_CART

_CARTS: dict[str, dict] = {}


def create_cart(cart_id: str) -> dict:
    cart = {"id": cart_id, "items": [], "total": 0, "total_cents": 0, "currency": CURRENCY}
    _CARTS[cart_id] = cart
    return cart


def get_cart(cart_id: str) -> dict | None:
    return _CARTS.get(cart_id)


def add_item(cart_id: str, sku: str, quantity: int, price: int) -> dict:
    cart = _CARTS[cart_id]
    if len(cart["items"]) >= MAX_ITEMS_PER_CART:
        raise ValueError("cart is full")
    cart["items"].append({"sku": sku, "quantity": quantity, "price": price})
    cart["total"] = cart["total_cents"] = sum(i["quantity"] * i["price"] for i in cart["items"])
    return cart
