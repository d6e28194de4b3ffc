"""The store's orders: lines, totals, the order status, and the staff pages to find them."""
