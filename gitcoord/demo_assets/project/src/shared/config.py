"""Settings shared by every part of the shop: a hotspot, so edits take an exclusive lock."""

# --- API settings (backend) ---
API_PREFIX = "/v1"

# --- sections stay apart so that parallel edits merge cleanly ---
CURRENCY = "EUR"
MAX_ITEMS_PER_CART = 100

# --- UI settings (frontend) ---
UI_THEME = "light"
