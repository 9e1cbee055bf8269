#!/usr/bin/env bash
# A storefront checkout against `make run`'s server (API on :8000, Stripe emulator on :8420).
# Needs curl and jq. Usage: ADMIN_KEY=olk_... bash examples/checkout.sh
set -euo pipefail
API=${API:-http://127.0.0.1:8000}
STRIPE=${STRIPE:-http://127.0.0.1:8420}
: "${ADMIN_KEY:?create one with: .venv/bin/orderledger admin create-key me}"

# 1. The catalog (idempotent).
curl -sf -X POST "$API/admin/catalog" -H "Authorization: Bearer $ADMIN_KEY" \
     -H 'Content-Type: application/json' -d @"$(dirname "$0")/catalog.json" >/dev/null

# 2. A cart with two T-shirts and standard shipping; the server prices it.
CART=$(curl -sf -X POST "$API/store/carts" -H 'Content-Type: application/json' \
       -d '{"region_id": "eu", "sales_channel_id": "web", "email": "ada@example.com"}' | jq -r .id)
curl -sf -X POST "$API/store/carts/$CART/line-items" -H 'Content-Type: application/json' \
     -d '{"variant_id": "tee-m", "quantity": 2}' >/dev/null
curl -sf -X POST "$API/store/carts/$CART/shipping-method" -H 'Content-Type: application/json' \
     -d '{"shipping_option_id": "std-eu"}' | jq '{subtotal, shipping_total, tax_total, total}'

# 3. The payment session: a PaymentIntent with capture_method=manual for the cart total.
PI=$(curl -sf -X POST "$API/store/carts/$CART/payment-session" | jq -r .payment_intent_id)

# 4. What Stripe.js does in the browser: attach a test card and confirm (authorizes the hold).
PM=$(curl -sf "$STRIPE/v1/payment_methods" -u sk_test_local: -d type=card \
     -d 'card[number]=4242424242424242' -d 'card[exp_month]=12' -d 'card[exp_year]=2030' \
     -d 'card[cvc]=123' | jq -r .id)
curl -sf "$STRIPE/v1/payment_intents/$PI" -u sk_test_local: -d payment_method="$PM" >/dev/null
curl -sf -X POST "$STRIPE/v1/payment_intents/$PI/confirm" -u sk_test_local: | jq -r .status

# 5. Complete: the order is placed (once), stock reserved, payment authorized.
ORDER=$(curl -sf -D /tmp/orderledger-headers -X POST "$API/store/carts/$CART/complete")
echo "$ORDER" | jq .
POSITION=$(grep -i x-ledger-position /tmp/orderledger-headers | tr -d '\r' | cut -d' ' -f2)

# 6. Read it back from the storefront view (waiting for our own write).
curl -sf "$API/store/orders/by-payment-intent/$PI?min_position=$POSITION" | jq '{status, payment_status, total, editable_until}'
