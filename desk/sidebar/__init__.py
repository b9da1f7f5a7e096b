"""The order sidebar beside each conversation: the buyer, their orders and after-sales, and the
actions on them. It owns no data: it asks the owners (orders, after-sales, commands, audit)."""
