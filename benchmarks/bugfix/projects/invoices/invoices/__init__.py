"""Invoices with line items, tax and simple statistics."""
