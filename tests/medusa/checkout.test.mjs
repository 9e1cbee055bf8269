// The official @medusajs/js-sdk against a running orderledger (started by test_js_sdk.py).
// Env: MEDUSA_URL, PK, REVOKED_PK, STRIPE_API_BASE, STRIPE_API_KEY, ADMIN_URL, ADMIN_KEY,
// SHOP (JSON: ids of the test catalog), OUT_FILE (what Python checks afterwards).
import Medusa, { FetchError } from "@medusajs/js-sdk"
import assert from "node:assert/strict"
import { writeFileSync } from "node:fs"
import { test } from "node:test"

const shop = JSON.parse(process.env.SHOP)
const sdk = new Medusa({ baseUrl: process.env.MEDUSA_URL, publishableKey: process.env.PK })
const out = {}
const address = (country) => ({
  first_name: "Ada", last_name: "Lovelace", address_1: "1 Main St", city: "Berlin",
  postal_code: "10117", country_code: country, phone: "+49 30 1234",
})

const stripe = (path, form) => fetch(process.env.STRIPE_API_BASE + path, {
  method: form ? "POST" : "GET",
  body: form ? new URLSearchParams(form) : undefined,
  headers: { authorization: `Bearer ${process.env.STRIPE_API_KEY}` },
}).then((r) => r.json())

// What Stripe.js does in the browser (localstripe wants the secret key for it).
async function confirmCard(clientSecret, card = "4242424242424242") {
  const pi = clientSecret.split("_secret_")[0]
  const pm = await stripe("/v1/payment_methods", {
    type: "card", "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123",
  })
  await stripe(`/v1/payment_intents/${pi}`, { payment_method: pm.id })
  const confirmed = await stripe(`/v1/payment_intents/${pi}/confirm`, {})
  return { pi, status: confirmed.status ?? confirmed.error?.code }
}

const admin = (path, body) => fetch(process.env.ADMIN_URL + path, {
  method: "POST", body: JSON.stringify(body),
  headers: { authorization: `Bearer ${process.env.ADMIN_KEY}`, "content-type": "application/json" },
}).then(async (r) => ({ status: r.status, body: await r.json() }))

async function rejects(promise, status, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof FetchError, `expected a FetchError, got ${e}`)
    assert.equal(e.status, status, e.message)
    if (pattern) assert.match(e.message, pattern)
    return true
  })
}

// The starter's checkout up to a confirmed payment session; returns the cart and session.
async function cartReadyToPay(regionId, variantId, quantity, country) {
  let { cart } = await sdk.store.cart.create({ region_id: regionId })
  ;({ cart } = await sdk.store.cart.createLineItem(cart.id, { variant_id: variantId, quantity }))
  ;({ cart } = await sdk.store.cart.update(cart.id, {
    email: "ada@example.com", shipping_address: address(country), billing_address: address(country),
  }))
  const { shipping_options } = await sdk.store.fulfillment.listCartOptions({ cart_id: cart.id })
  ;({ cart } = await sdk.store.cart.addShippingMethod(cart.id, { option_id: shipping_options[0].id }))
  const { payment_collection } = await sdk.store.payment.initiatePaymentSession(cart, { provider_id: "pp_stripe_stripe" })
  const session = payment_collection.payment_sessions.find((s) => s.status === "pending")
  assert.ok(session?.data?.client_secret, "a pending session with a client secret")
  return { cart, session, shipping_options }
}

test("the starter's whole guest checkout places one order, read back at once", async () => {
  const { regions } = await sdk.store.region.list()
  const region = regions.find((r) => r.id === shop.region)
  assert.equal(region.currency_code, "eur")
  assert.ok(region.countries[0].iso_2, "the starter routes by a region's countries")
  assert.deepEqual((await sdk.store.region.retrieve(region.id)).region.id, region.id)

  const { products, count } = await sdk.store.product.list({ region_id: region.id, fields: "*variants.calculated_price,+variants.inventory_quantity" })
  assert.ok(!products.some((p) => p.id === shop.hidden_product), "a product of another channel is not listed")
  assert.equal(count, products.length)
  const product = products.find((p) => p.id === shop.product)
  assert.equal(product.thumbnail, null)
  assert.deepEqual(product.images, [])
  const variant = product.variants.find((v) => v.id === shop.variant)
  assert.equal(variant.calculated_price.calculated_amount, 19.99)
  assert.equal(variant.calculated_price.calculated_price.price_list_type, null)
  assert.equal(variant.inventory_quantity, 10)
  // The starter picks the variant by option_id → value.
  const [option] = product.options
  const picked = product.variants.find((v) => v.options.every((o) => o.option_id === option.id && o.value === variant.title))
  assert.equal(picked.id, variant.id)
  // qs's array encoding (id[0]=…&id[1]=…) filters by id.
  const byId = await sdk.store.product.list({ id: [shop.product, shop.other_product] })
  assert.deepEqual(byId.products.map((p) => p.id).sort(), [shop.other_product, shop.product].sort())
  assert.equal((await sdk.store.product.retrieve(shop.product, { region_id: region.id })).product.id, shop.product)
  await rejects(sdk.store.product.retrieve(shop.hidden_product), 404)

  await rejects(sdk.client.fetch("/store/customers/me"), 401)
  const { payment_providers } = await sdk.store.payment.listPaymentProviders({ region_id: region.id })
  assert.ok(payment_providers.some((p) => p.id === "pp_stripe_stripe"))

  const { cart, session, shipping_options } = await cartReadyToPay(region.id, variant.id, 3, region.countries[0].iso_2)
  assert.equal(shipping_options[0].amount, 4.95)
  assert.equal(shipping_options[0].price_type, "flat")
  // Amounts exact in major units: 3 × 19.99 is 59.97 (in JS, 3 * 19.99 is 59.970000000000006).
  assert.equal(cart.item_subtotal, 59.97)
  assert.equal(cart.item_tax_total, 11.99) // 20 % of 59.97 = 11.994, rounded per line
  assert.equal(cart.shipping_subtotal, 4.95)
  assert.equal(cart.shipping_tax_total, 0.99)
  assert.equal(cart.total, 77.9)
  assert.equal(cart.email, "ada@example.com")
  assert.equal(cart.shipping_address.country_code, region.countries[0].iso_2)
  assert.deepEqual(cart.promotions, [])
  assert.equal(session.amount, 77.9)
  assert.equal(session.data.amount, 7790) // the raw PaymentIntent: minor units

  // Asking for the payment collection again gives the same one.
  const again = await sdk.store.payment.initiatePaymentSession((await sdk.store.cart.retrieve(cart.id)).cart, { provider_id: "pp_stripe_stripe" })
  assert.equal(again.payment_collection.id, (await sdk.store.cart.retrieve(cart.id)).cart.payment_collection.id)
  assert.equal(again.payment_collection.payment_sessions.length, 1)

  const { pi, status } = await confirmCard(session.data.client_secret)
  assert.equal(status, "requires_capture")
  const done = await sdk.store.cart.complete(cart.id)
  assert.equal(done.type, "order", done.error?.message)
  assert.equal(done.order.total, 77.9)
  const { order } = await sdk.store.order.retrieve(done.order.id)
  assert.equal(order.id, done.order.id)
  assert.equal(order.total, cart.total)
  assert.equal(order.email, "ada@example.com")
  assert.equal(order.payment_status, "authorized")
  assert.equal(order.items[0].quantity, 3)
  assert.equal(order.items[0].unit_price, 19.99)
  assert.equal(order.shipping_address.country_code, region.countries[0].iso_2)
  assert.equal(order.summary.current_order_total, 77.9)
  const [payment] = order.payment_collections[0].payments
  assert.equal(payment.provider_id, "pp_stripe_stripe")
  assert.equal(payment.amount, 77.9)

  const twice = await sdk.store.cart.complete(cart.id)
  assert.equal(twice.type, "order")
  assert.equal(twice.order.id, order.id)
  out.order_id = order.id
  out.payment_intent_id = pi
})

test("a declined card answers {type: cart} and places nothing", async () => {
  const { cart, session } = await cartReadyToPay(shop.region, shop.variant, 1, "de")
  const { pi, status } = await confirmCard(session.data.client_secret, "4000000000000341")
  assert.notEqual(status, "requires_capture")
  const done = await sdk.store.cart.complete(cart.id)
  assert.equal(done.type, "cart")
  assert.equal(done.cart.id, cart.id)
  assert.equal(done.error.type, "payment_authorization_error")
  assert.equal(done.cart.completed_at, null)
  out.declined_payment_intent_id = pi
})

test("stock running out between cart and complete is a clean error and releases the hold", async () => {
  const { cart, session } = await cartReadyToPay(shop.region, shop.scarce_variant, 1, "de")
  const { pi, status } = await confirmCard(session.data.client_secret)
  assert.equal(status, "requires_capture")
  const sold = await admin("/admin/inventory-levels", { variant_id: shop.scarce_variant, location_id: shop.location, stocked_quantity: 0 })
  assert.equal(sold.status, 200, JSON.stringify(sold.body))
  await rejects(sdk.store.cart.complete(cart.id), 400, /Only 0 of .* available.*hold was released/)
  assert.equal((await stripe(`/v1/payment_intents/${pi}`)).status, "canceled")
  const later = await sdk.store.cart.complete(cart.id)
  assert.equal(later.type, "cart", "no order once the hold is released")
  out.stock_out_payment_intent_id = pi
})

test("a line's quantity changes, and a line is deleted", async () => {
  let { cart } = await sdk.store.cart.create({ region_id: shop.region })
  ;({ cart } = await sdk.store.cart.createLineItem(cart.id, { variant_id: shop.variant, quantity: 1 }))
  ;({ cart } = await sdk.store.cart.createLineItem(cart.id, { variant_id: shop.other_variant, quantity: 2 }))
  assert.equal(cart.items.length, 2)
  const tee = cart.items.find((i) => i.variant_id === shop.variant)
  ;({ cart } = await sdk.store.cart.updateLineItem(cart.id, tee.id, { quantity: 4 }))
  assert.equal(cart.items.find((i) => i.id === tee.id).quantity, 4)
  assert.equal(cart.item_subtotal, 89.96) // 4 × 19.99 + 2 × 5.00
  const book = cart.items.find((i) => i.variant_id === shop.other_variant)
  const deleted = await sdk.store.cart.deleteLineItem(cart.id, book.id)
  assert.equal(deleted.deleted, true)
  assert.equal(deleted.object, "line-item")
  assert.equal(deleted.id, book.id)
  assert.deepEqual(deleted.parent.items.map((i) => i.id), [tee.id])
  ;({ cart } = await sdk.store.cart.updateLineItem(cart.id, tee.id, { quantity: 0 }))
  assert.deepEqual(cart.items, [])
  assert.equal(cart.total, 0)
  await rejects(sdk.store.cart.updateLineItem(cart.id, tee.id, { quantity: 1 }), 404)
  await rejects(sdk.store.cart.retrieve("00000000-0000-4000-8000-000000000000"), 404)
})

test("a missing, an unknown and a revoked publishable key are refused", async () => {
  await rejects(new Medusa({ baseUrl: process.env.MEDUSA_URL }).store.region.list(), 400, /x-publishable-api-key/)
  for (const key of [process.env.REVOKED_PK, "pk_nope_nope"]) {
    const other = new Medusa({ baseUrl: process.env.MEDUSA_URL, publishableKey: key })
    await rejects(other.store.product.list(), 400, /A valid publishable key is required/)
    await rejects(other.store.cart.create({ region_id: shop.region }), 400, /A valid publishable key/)
  }
})

test("a JPY cart's major-unit amounts are exact", async () => {
  const { products } = await sdk.store.product.list({ region_id: shop.jpy_region, id: [shop.product] })
  const variant = products[0].variants.find((v) => v.id === shop.variant)
  assert.equal(variant.calculated_price.calculated_amount, 1980)
  assert.equal(variant.calculated_price.currency_code, "jpy")
  const { cart, session } = await cartReadyToPay(shop.jpy_region, shop.variant, 3, "jp")
  assert.equal(cart.currency_code, "jpy")
  assert.equal(cart.item_subtotal, 5940)
  assert.equal(cart.item_tax_total, 594)
  assert.equal(cart.shipping_total, 500)
  assert.equal(cart.total, 7034)
  assert.ok(Number.isInteger(cart.total))
  assert.equal(session.data.amount, 7034) // JPY has no minor unit: the same number
  assert.equal(session.data.currency, "jpy")
})

test.after(() => writeFileSync(process.env.OUT_FILE, JSON.stringify(out)))
