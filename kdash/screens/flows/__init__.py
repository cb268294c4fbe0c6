"""Write flows: one module per registry row with a `flow`, run by host.FlowHost through the write gate."""
