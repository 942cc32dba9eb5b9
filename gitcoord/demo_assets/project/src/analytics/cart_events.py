"""Cart analytics (task ANALYTICS): events derived from cart-api responses."""


def cart_viewed(cart: dict) -> dict:
    return {"event": "cart_viewed", "cart": cart["id"], "items": len(cart["items"]), "value": cart["total"]}
