// Cart page (task UI): built against the cart-api mock before the real API existed.
export async function loadCart(baseUrl, cartId) {
  const response = await fetch(`${baseUrl}/carts/${cartId}`);
  if (!response.ok) throw new Error(`cart ${cartId}: HTTP ${response.status}`);
  const cart = await response.json();
  return {
    lines: cart.items.map((item) => `${item.quantity} x ${item.sku}`),
    total: (cart.total / 100).toFixed(2) + " " + cart.currency,
  };
}
