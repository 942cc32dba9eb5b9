"""Checkout end to end (task INTEGRATION): API, analytics and UI totals agree."""

from src.analytics.cart_events import cart_viewed
from src.api.cart import add_item, create_cart


def checkout_smoke() -> dict:
    create_cart("c-2001")
    cart = add_item("c-2001", "MUG-7", 1, 1200)
    return cart_viewed(cart)
