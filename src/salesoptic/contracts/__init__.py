"""Data contracts: one module per dataset, and the closed vocabulary of reason codes."""
