"""The audit trail: every action on an order or an after-sale, by a person or a rule, and its outcome."""
